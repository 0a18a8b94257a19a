"""Wake-ups for long polls: `lifecycle.transition` says which payment moved, watchers wait.

Each watcher registers one `asyncio.Event` under every payment it follows, and a transition
sets the events registered under its payment (no busy loop, no cost per payment that does not
move). On PostgreSQL, moves made by other op_api replicas arrive here too, by LISTEN/NOTIFY
(`PaymentStore.listening`); and `POST /payments/watch` re-reads its rows every
`WATCH_REREAD_SECONDS` anyway, in case a notification is lost with its connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


class Changes:
    def __init__(self) -> None:
        self._watchers: dict[str, set[asyncio.Event]] = {}

    def moved(self, payment_id: str) -> None:
        """A payment's status changed (called by `lifecycle.transition`)."""
        for event in self._watchers.get(payment_id, ()):
            event.set()

    @contextmanager
    def watching(self, payment_ids: Iterable[str]) -> Iterator[asyncio.Event]:
        """An event set when any of `payment_ids` moves, for as long as the block runs."""
        event = asyncio.Event()
        ids = set(payment_ids)
        for payment_id in ids:
            self._watchers.setdefault(payment_id, set()).add(event)
        try:
            yield event
        finally:
            for payment_id in ids:
                events = self._watchers.get(payment_id)
                if events is not None:
                    events.discard(event)
                    if not events:
                        del self._watchers[payment_id]

    def watched(self) -> int:
        """How many payments someone is waiting on (for tests and metrics)."""
        return len(self._watchers)
