"""The allowance's intervals: ISO 8601 durations parsed exactly, and `start + k × duration`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.wallet.interval import parse_interval
from shared.durations import Duration, interval_index, repeating_interval

START = datetime(2026, 1, 31, 9, 30, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "months", "exact"),
    [
        ("P1W", 0, timedelta(weeks=1)),
        ("P1M", 1, timedelta(0)),
        ("P1Y2M", 14, timedelta(0)),
        ("P1DT12H", 0, timedelta(days=1, hours=12)),
        ("PT5S", 0, timedelta(seconds=5)),
        ("PT1H30M", 0, timedelta(hours=1, minutes=30)),
    ],
)
def test_durations_are_parsed_exactly(text: str, months: int, exact: timedelta) -> None:
    assert Duration.parse(text) == Duration(months=months, exact=exact)


@pytest.mark.parametrize("text", ["P", "PT", "P1DT", "P0D", "PT0S", "1W", "P1.5D", "P-1D", ""])
def test_what_is_not_a_usable_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        Duration.parse(text)


def test_months_clamp_to_the_month_end_as_the_wallet_steps_them() -> None:
    """Each interval starts where the previous one ended (Rafiki's luxon, the sandbox wallet)."""
    month = Duration.parse("P1M")
    assert month.after(START, 1) == datetime(2026, 2, 28, 9, 30, tzinfo=UTC)
    assert month.after(START, 2) == datetime(2026, 3, 28, 9, 30, tzinfo=UTC)
    assert month.after(START, 13) == datetime(2027, 2, 28, 9, 30, tzinfo=UTC)
    assert interval_index(START, month, datetime(2026, 3, 29, tzinfo=UTC)) == 2
    assert Duration.parse("P1Y").after(datetime(2028, 2, 29, tzinfo=UTC)) == datetime(
        2029, 2, 28, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["P1W", "P1M", "P1Y", "PT5S", "P1DT1H"])
def test_the_current_interval_contains_now(text: str) -> None:
    duration = Duration.parse(text)
    for offset in (0, 1, 59, 3600, 86400 * 7, 86400 * 40, 86400 * 400, 86400 * 3000):
        now = START + timedelta(seconds=offset)
        k = interval_index(START, duration, now)
        assert duration.after(START, k) <= now < duration.after(START, k + 1), (text, offset)
    assert interval_index(START, duration, START - timedelta(days=1)) == 0


def test_the_grant_gets_a_repeating_interval_in_utc_whole_seconds() -> None:
    assert repeating_interval(START, "P1W") == "R/2026-01-31T09:30:00Z/P1W"


@pytest.mark.parametrize("text", ["P1W", "P1M", "P1Y", "PT5S", "P1M2DT3H"])
def test_op_api_places_every_moment_in_the_wallets_interval(text: str) -> None:
    """The sandbox wallet (modelled on Rafiki) is the referee: op_api counts a payment in the
    interval the wallet counts it in."""
    duration = Duration.parse(text)
    wallet = parse_interval(repeating_interval(START, text))
    for days in range(0, 800, 7):
        for seconds in (0, 1, 3599):
            now = START + timedelta(days=days, seconds=seconds)
            k = interval_index(START, duration, now)
            window = wallet.window(now)
            assert window == (duration.after(START, k), duration.after(START, k + 1)), (text, now)


def test_absurdly_long_durations_are_refused_not_crashed() -> None:
    for text in ("P99999999999999999999Y", "P9Y6W855369933145D", "P11Y", "P121M", "P3661D"):
        with pytest.raises(ValueError):
            Duration.parse(text)
    assert Duration.parse("P10Y").months == 120
