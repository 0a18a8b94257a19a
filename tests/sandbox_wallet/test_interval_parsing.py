"""Which interval a moment falls in, for the forms Rafiki reads (its luxon-based getInterval)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandbox.wallet.allowance import allowance_words
from sandbox.wallet.interval import IntervalError, parse_interval


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _window(interval: str, at: str) -> tuple[str, str] | None:
    found = parse_interval(interval).window(_at(at))
    return None if found is None else (found[0].isoformat()[:19], found[1].isoformat()[:19])


@pytest.mark.parametrize(
    ("interval", "at", "expected"),  # expected: `start/end` of the window, UTC
    [
        # Half-open: the end belongs to the next interval.
        (
            "R/2026-12-01T00:00:00Z/P1W",
            "2026-12-08T00:00:00",
            "2026-12-08T00:00:00/2026-12-15T00:00:00",
        ),
        (
            "R/2026-12-01T00:00:00Z/P1W",
            "2026-12-07T23:59:59",
            "2026-12-01T00:00:00/2026-12-08T00:00:00",
        ),
        ("R/2026-12-01T00:00:00Z/P1W", "2026-11-30T23:59:59", None),  # before the start
        # Months step from the previous end, the day clamped: 31 Jan → 28 Feb → 28 Mar.
        (
            "R/2026-01-31T00:00:00Z/P1M",
            "2026-03-01T00:00:00",
            "2026-02-28T00:00:00/2026-03-28T00:00:00",
        ),
        # R<n>: the first interval and n more.
        (
            "R1/2026-01-01T00:00:00Z/P1D",
            "2026-01-02T12:00:00",
            "2026-01-02T00:00:00/2026-01-03T00:00:00",
        ),
        ("R1/2026-01-01T00:00:00Z/P1D", "2026-01-03T00:00:00", None),
        (
            "R0/2026-01-01T00:00:00Z/PT30S",
            "2026-01-01T00:00:29",
            "2026-01-01T00:00:00/2026-01-01T00:00:30",
        ),
        # <start>/<end>: repeats with the same length.
        (
            "R/2026-01-01T00:00:00Z/2026-01-03T00:00:00Z",
            "2026-01-05T00:00:00",
            "2026-01-05T00:00:00/2026-01-07T00:00:00",
        ),
        # <duration>/<end>: counts back from the end; nothing after it.
        (
            "R-1/P1D/2026-05-11T15:30:00Z",
            "2026-05-01T00:00:00",
            "2026-04-30T15:30:00/2026-05-01T15:30:00",
        ),
        ("R-1/P1D/2026-05-11T15:30:00Z", "2026-05-11T15:30:00", None),
        # Offsets and zone-less moments are read in UTC.
        (
            "R/2026-12-01T02:00:00+02:00/P1D",
            "2026-12-01T00:00:00",
            "2026-12-01T00:00:00/2026-12-02T00:00:00",
        ),
        (
            "R/2026-12-01T00:00:00/P1D",
            "2026-12-01T00:00:00",
            "2026-12-01T00:00:00/2026-12-02T00:00:00",
        ),
    ],
)
def test_window(interval: str, at: str, expected: str | None) -> None:
    found = _window(interval, at)
    assert (None if found is None else "/".join(found)) == expected


def test_a_short_interval_far_from_its_start_is_found_without_walking():
    assert _window("R/2000-01-01T00:00:00Z/PT1S", "2026-06-01T00:00:00") == (
        "2026-06-01T00:00:00",
        "2026-06-01T00:00:01",
    )


@pytest.mark.parametrize(
    "interval",
    [
        "P1W",
        "R/P1W",
        "R/2026-12-01T00:00:00Z/P",
        "R/2026-12-01T00:00:00Z/PT0S",
        "R5x/2026-12-01/P1D",
    ],
)
def test_unreadable(interval: str) -> None:
    with pytest.raises(IntervalError):
        parse_interval(interval)


def test_allowance_words():
    usd = {"value": "5000", "assetCode": "USD", "assetScale": 2}
    weekly = {"debitAmount": usd, "interval": "R/2026-12-01T00:00:00Z/P1W"}
    assert allowance_words({"actions": ["create"], "limits": weekly}, "Paguito") == (
        "up to 50.00 USD per week, renewing every week from 1 Dec 2026, 00:00 UTC"
    )
    monthly = {"receiveAmount": usd, "interval": "R11/2026-12-01T00:00:00Z/P2M"}
    assert allowance_words({"actions": ["create"], "limits": monthly}, "Paguito") == (
        "up to 50.00 USD received per 2 months, renewing every 2 months from "
        "1 Dec 2026, 00:00 UTC, 12 times in all"
    )
    assert allowance_words({"actions": ["read", "list"]}, "Paguito") == (
        "links this wallet: Paguito can read payments it makes and cannot spend"
    )
