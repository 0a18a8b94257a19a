"""How often a scheduled payment repeats: an ISO 8601 duration ("P1M", "P1W", "PT5S") read into
months plus seconds, and the time of a schedule's k-th run counted from its first one.

Months are calendar months (31 January + P1M is 28 or 29 February, then 31 March: each run is
counted from the first, so a short month does not pull the later ones earlier).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.durations import Duration, add_months

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
            add_months(start, self.months * k) + timedelta(seconds=self.seconds * k)
        ).timestamp()


def parse(text: str) -> Cadence:
    """The cadence of an ISO 8601 duration; ValueError for anything else, or a zero length."""
    duration = Duration.parse(text.strip().upper())
    return Cadence(months=duration.months, seconds=duration.exact.total_seconds())
