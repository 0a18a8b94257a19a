"""ISO 8601 durations: an allowance's repeating interval (`R/<start>/<duration>`, op_api) and a
scheduled payment's cadence (ws_bot), read by one parser.

A small exact parser rather than a library: the grammar is the contract's (`ISO_DURATION`: whole
numbers of Y, M, W, D, H, M, S, no fractions, no negative values), and the one library in uv.lock
that parses durations (isodate) is there only as a test tool's dependency; making it a runtime
dependency of two services costs more than these dozen lines.

Years and months are calendar units (the day kept, or clamped to the month's last: Jan 31 +
P1M = Feb 28/29); the rest is exact time. Each interval starts where the previous one ended, as
Rafiki (luxon) and the sandbox wallet step them: for exact durations that is `start + k ×
duration`; with months the clamping carries on (Jan 31, Feb 28, Mar 28, …), and op_api must
place a payment in the interval the wallet will count it in.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

ISO_DURATION = r"^P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?$"
_PATTERN = re.compile(ISO_DURATION)
LONGEST_YEARS = 10
LONGEST_SECONDS = LONGEST_YEARS * 366 * 86400


@dataclass(frozen=True)
class Duration:
    months: int
    exact: timedelta

    @classmethod
    def parse(cls, text: str) -> Duration:
        """'P1W' → Duration; ValueError for anything else, or for a zero length."""
        match = _PATTERN.match(text) if len(text) <= 32 else None
        if match is None or text in ("P", "PT") or text.endswith("T"):
            raise ValueError(f"{text!r} is not an ISO 8601 duration such as 'P1W'")
        years, months, weeks, days, _t, hours, minutes, seconds = (
            int(g[:-1]) if g and not g.startswith("T") else 0 for g in match.groups()
        )
        total_months = years * 12 + months
        exact_seconds = (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds
        if (
            total_months > 12 * LONGEST_YEARS
            or total_months * 28 * 86400 + exact_seconds > LONGEST_SECONDS
        ):
            # Beyond this, dates step past what datetime can hold: a clear refusal, not a crash.
            raise ValueError(f"{text!r} is longer than {LONGEST_YEARS} years")
        duration = cls(months=total_months, exact=timedelta(seconds=exact_seconds))
        if duration.months == 0 and duration.exact <= timedelta(0):
            raise ValueError(f"{text!r} is an empty duration")
        return duration

    def after(self, start: datetime, times: int = 1) -> datetime:
        """The end of the `times`-th interval from `start` (each starting where the previous
        one ended)."""
        if self.months == 0:
            return start + self.exact * times
        moment = start
        for _ in range(times):
            moment = add_months(moment, self.months) + self.exact
        return moment


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months: the day kept, or clamped to the month's last (Jan 31 + 1 = Feb 28/29)."""
    if months == 0:
        return moment
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def interval_index(start: datetime, duration: Duration, now: datetime) -> int:
    """The k for which `now` lies in `[after(start, k), after(start, k + 1))` (0 before the
    start)."""
    if now <= start:
        return 0
    if duration.months == 0:
        return int((now - start) // duration.exact)
    k, end = 0, duration.after(start)
    while end <= now:  # a month at a time: a few hundred steps over decades
        k, end = k + 1, duration.after(end)
    return k


def repeating_interval(start: datetime, duration_text: str) -> str:
    """The grant's `limits.interval`: `R/2026-12-01T09:30:00Z/P1W` (UTC, whole seconds)."""
    return f"R/{start.strftime('%Y-%m-%dT%H:%M:%S')}Z/{duration_text}"
