"""Put a stored payment into any status the way the service does: through legal transitions."""

from __future__ import annotations

import itertools
from collections import deque

from op_api.lifecycle import FIRST, TRANSITIONS, Status, transition
from op_api.store import PaymentStore


def path_to(target: Status) -> list[Status]:
    """The shortest chain of statuses from the first one to `target` (breadth-first)."""
    previous: dict[Status, Status | None] = {FIRST: None}
    queue = deque([FIRST])
    while queue:
        status = queue.popleft()
        for source, following in TRANSITIONS:
            if source == status and following not in previous:
                previous[following] = status
                queue.append(following)
    if target not in previous:
        raise ValueError(f"{target} cannot be reached from {FIRST}")
    chain: list[Status] = []
    step: Status | None = target
    while step is not None:
        chain.append(step)
        step = previous[step]
    return chain[::-1]


async def move_to(store: PaymentStore, payment_id: str, target: Status) -> None:
    chain = path_to(target)
    for source, following in itertools.pairwise(chain):
        assert await transition(store, payment_id, source, following, "test set-up")
