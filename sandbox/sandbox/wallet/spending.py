"""What a grant has spent: which payments count against its limits now (Rafiki's rules)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sandbox.wallet.interval import IntervalError, parse_interval
from sandbox.wallet.models import OutgoingPayment


def spending_window(limits: dict[str, Any], at: float) -> tuple[float, float] | None:
    """The `[start, end)` (Unix seconds) whose payments count against the limits at `at`: all
    time without `interval`; None when no interval of the grant holds `at` (nothing may be paid).
    """
    text = limits.get("interval")
    if text is None:
        return -math.inf, math.inf
    try:
        found = parse_interval(text).window(datetime.fromtimestamp(at, tz=UTC))
    except IntervalError:  # stored before intervals were checked: Rafiki refuses such payments
        return None
    return None if found is None else (found[0].timestamp(), found[1].timestamp())


async def spent_under(
    session: AsyncSession, grant_id: str, window: tuple[float, float]
) -> tuple[int, int]:
    """Debit and receive amounts committed under a grant in `[start, end)` (failed payments
    excluded: Rafiki gives a failed payment's reservation back)."""
    rows = (
        await session.execute(
            select(
                OutgoingPayment.debit, OutgoingPayment.receive, OutgoingPayment.created_at
            ).where(OutgoingPayment.grant_id == grant_id, OutgoingPayment.state != "failed")
        )
    ).all()
    inside = [r for r in rows if window[0] <= r[2] < window[1]]
    return sum(r[0] for r in inside), sum(r[1] for r in inside)
