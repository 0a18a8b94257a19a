"""How often a scheduled payment repeats: an ISO 8601 duration ("P1M", "P1W", "PT5S") read into
months plus seconds, and the time of a schedule's k-th run counted from its first one.

Months are calendar months (31 January + P1M is 28 or 29 February, then 31 March: each run is
counted from the first, so a short month does not pull the later ones earlier).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(
    r"^P(?:(?P<Y>\d+)Y)?(?:(?P<M>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)
DAY = 86400.0
# ISO 8601 durations llm_back gives for `recurrence`, as the user would say them.
_EVERY = {
    "P1D": ("cada día", "every day"),
    "P1W": ("cada semana", "every week"),
    "P2W": ("cada quincena", "every two weeks"),
    "P15D": ("cada quincena", "every two weeks"),
    "P1M": ("cada mes", "every month"),
    "P1Y": ("cada año", "every year"),
}


# How a cadence is said after the recipient ("… a bob cada semana", "… to alice monthly").
_SAID = re.compile(
    r"\s+(?:(?:every|each|cada)\s+(?:\w+\s+)?(?:day|week|month|year|fortnight|d[ií]a|semana|"
    r"mes|a[nñ]o|quincena)s?|weekly|monthly|daily|yearly|semanal(?:mente)?|mensual(?:mente)?|"
    r"diario|diariamente|anual(?:mente)?)\s*$",
    re.IGNORECASE,
)


def without_cadence(label: str) -> str:
    """The recipient as said, without a cadence llm_back left on it ("bob every week" → "bob";
    its parser keeps the words after a lower-case name)."""
    return _SAID.sub("", label).strip() or label


def every(lang: str | None, recurrence: str) -> str:
    """'cada mes' / 'every month': a cadence as the user would say it."""
    es, en = _EVERY.get(recurrence.upper(), ("cada cierto tiempo", "on a schedule"))
    return en if lang == "en" else es


@dataclass(frozen=True)
class Cadence:
    months: int
    seconds: float

    @property
    def shortest_seconds(self) -> float:
        """The shortest time one repeat can take (a month counts as 28 days)."""
        return self.months * 28 * DAY + self.seconds

    def run_at(self, first: float, k: int) -> float:
        """When run number k+1 is due, for a schedule whose first run was due at `first`."""
        start = datetime.fromtimestamp(first, UTC)
        return (
            _add_months(start, self.months * k) + timedelta(seconds=self.seconds * k)
        ).timestamp()


def parse(text: str) -> Cadence:
    """The cadence of an ISO 8601 duration; ValueError for anything else, or a zero length."""
    match = _DURATION.match(text.strip().upper()) if len(text) <= 32 else None
    if match is None or text.strip().upper() in ("P", "PT") or text.strip().endswith("T"):
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    n = {key: int(value or 0) for key, value in match.groupdict().items()}
    cadence = Cadence(
        months=n["Y"] * 12 + n["M"],
        seconds=float(((n["W"] * 7 + n["D"]) * 24 + n["h"]) * 3600 + n["m"] * 60 + n["s"]),
    )
    if cadence.shortest_seconds <= 0:
        raise ValueError("a schedule must repeat after some time")
    return cadence


def _add_months(moment: datetime, months: int) -> datetime:
    if months == 0:
        return moment
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
