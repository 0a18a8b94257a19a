"""POST /payments/watch: one long poll over many payments.

Answers at once with the payments whose status differs from the one the caller gave (and the ids
it does not know); otherwise waits until one of them moves or `waitSeconds` pass (then nothing).
A move wakes it through `PaymentStore.changes` (moves by other replicas too, on PostgreSQL,
by LISTEN/NOTIFY); it also re-reads the rows every `watch_reread_seconds` (one SELECT for all of
them), which covers a notification lost with its connection.
"""

from __future__ import annotations

import asyncio
import contextlib

from op_api.deps import Deps
from op_api.views import payment_view, public_status
from shared.contracts import PaymentStatus, WatchAnswer, WatchRequest


async def differences(deps: Deps, seen: dict[str, PaymentStatus]) -> WatchAnswer:
    """The payments whose status is not the one in `seen`, and the ids nobody knows. Only
    statuses are read for all of them; whole rows only for the ones that moved."""
    current = await deps.store.statuses(list(seen))
    moved = [pid for pid, status in current.items() if public_status(status) != seen[pid]]
    views = [payment_view(r) for r in await deps.store.get_many(moved)] if moved else []
    return WatchAnswer(
        payments=[view for view in views if view.status != seen[view.payment_id]],
        unknown=[payment_id for payment_id in seen if payment_id not in current],
    )


async def watch(deps: Deps, body: WatchRequest) -> WatchAnswer:
    seen = {p.payment_id: p.status for p in body.payments}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + body.wait_seconds
    reread = deps.settings.watch_reread_seconds
    # Registered before the first read, so a move between the read and the wait is not missed.
    with deps.store.changes.watching(seen) as moved:
        while True:
            moved.clear()
            answer = await differences(deps, seen)
            left = deadline - loop.time()
            if answer.payments or answer.unknown or left <= 0:
                return answer
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(moved.wait(), min(left, reread))
