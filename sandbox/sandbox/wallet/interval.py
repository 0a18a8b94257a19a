"""ISO 8601 repeating intervals (`limits.interval`), read the way Rafiki reads them.

`R<n>/<start>/<duration>` (also `<start>/<end>`, or `<duration>/<end>` counting backwards):
the first interval, then `n` more (`R` or `R-1`: without end). Intervals are half-open,
`[start, end)`. A moment before the first interval (forward) or after the last one has no
interval, and a payment then is refused — as Rafiki's outgoing-payment service does.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?$"
)
# Month-length durations are walked one interval at a time; this bounds that walk.
_MAX_STEPS = 100_000


class IntervalError(ValueError):
    pass


@dataclass(frozen=True)
class Duration:
    months: int  # years count as 12 months
    fixed: timedelta  # weeks, days (UTC: 24 h), hours, minutes, seconds

    def add(self, moment: datetime, sign: int = 1) -> datetime:
        """Calendar months first (the day clamped to the month's length), then fixed time."""
        if self.months:
            index = moment.year * 12 + moment.month - 1 + sign * self.months
            year, month = divmod(index, 12)
            day = min(moment.day, calendar.monthrange(year, month + 1)[1])
            moment = moment.replace(year=year, month=month + 1, day=day)
        return moment + sign * self.fixed


def parse_duration(text: str) -> Duration:
    match = _DURATION.match(text)
    if match is None:
        raise IntervalError(f"{text!r} is not an ISO 8601 duration")
    part = {k: v or "0" for k, v in match.groupdict().items()}
    duration = Duration(
        months=int(part["years"]) * 12 + int(part["months"]),
        fixed=timedelta(
            weeks=int(part["weeks"]),
            days=int(part["days"]),
            hours=int(part["hours"]),
            minutes=int(part["minutes"]),
            seconds=float(part["seconds"].replace(",", ".")),
        ),
    )
    if duration.months == 0 and duration.fixed <= timedelta(0):
        raise IntervalError("the interval's duration must be longer than zero")
    return duration


def _moment(text: str) -> datetime:
    """Rafiki (luxon) reads moments without a zone as UTC and steps months in UTC; so here."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise IntervalError(f"{text!r} is not an ISO 8601 date-time") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@dataclass(frozen=True)
class RepeatingInterval:
    repetitions: int | None  # intervals after the first; None: no end
    first_start: datetime
    first_end: datetime
    duration: Duration
    forward: bool  # False for `<duration>/<end>`: the repetitions go back in time

    def window(self, at: datetime) -> tuple[datetime, datetime] | None:
        """The interval `[start, end)` that holds `at`, or None when none does."""
        start, end = self.first_start, self.first_end
        if start <= at < end:
            return start, end
        if (at < start) if self.forward else (at >= end):
            return None
        if self.duration.months == 0:
            return self._fixed_window(at)
        steps = _MAX_STEPS if self.repetitions is None else min(self.repetitions, _MAX_STEPS)
        for _ in range(steps):
            if self.forward:
                start, end = end, self.duration.add(end)
            else:
                start, end = self.duration.add(start, -1), start
            if start <= at < end:
                return start, end
        return None

    def _fixed_window(self, at: datetime) -> tuple[datetime, datetime] | None:
        step = self.duration.fixed
        if self.forward:
            index = (at - self.first_end) // step + 1
            start = self.first_end + (index - 1) * step
        else:
            index = (self.first_start - at - timedelta(microseconds=1)) // step + 1
            start = self.first_start - index * step
        if self.repetitions is not None and index > self.repetitions:
            return None
        return start, start + step


def parse_interval(text: str) -> RepeatingInterval:
    """Raises IntervalError for anything Rafiki could not place a payment in."""
    parts = text.split("/")
    if len(parts) != 3 or not parts[0].startswith("R"):
        raise IntervalError("limits.interval must look like R/<start>/<duration>")
    count = parts[0][1:]
    if count in ("", "-1"):
        repetitions = None
    elif count.isdigit():
        repetitions = int(count)
    else:
        raise IntervalError(f"{parts[0]!r} is not a repetition count (R, R-1 or R<n>)")
    first, second = parts[1], parts[2]
    if first.startswith("P"):
        duration, end = parse_duration(first), _moment(second)
        start, forward = duration.add(end, -1), False
    else:
        start = _moment(first)
        if second.startswith("P"):
            duration = parse_duration(second)
            end = duration.add(start)
        else:
            end = _moment(second)
            duration = Duration(0, end - start)
        forward = True
    if end <= start:
        raise IntervalError("the interval must end after it starts")
    return RepeatingInterval(repetitions, start, end, duration, forward)
