"""How a worker in a process of its own (`ROLE=worker`) hears that a webhook body was stored.

With `ROLE=all` the ack wakes the worker beside it directly. Across processes:

- PostgreSQL: the webhook process's group commit sends a NOTIFY on `CHANNEL`, delivered when
  (and only if) the bodies commit; the worker LISTENs on one connection held from its pool.
- SQLite: both processes open the same database file, and every commit appends to its
  write-ahead log; so the worker looks at that file's size and modification time every
  `WATCH_SECONDS` (one `stat`, no query, no thread hop) and wakes when they change. Its own
  commits change them too: that costs one look for bodies, which finds none.

Either way the worker also looks for bodies every half second on its own, so a lost signal
delays a message, it never loses one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from shared.sql import Database, PostgresDatabase

logger = logging.getLogger(__name__)

CHANNEL = "ws_webhooks_stored"
WATCH_SECONDS = 0.02


@contextlib.asynccontextmanager
async def hearing_stored_bodies(
    db: Database, sqlite_path: Path, wake: Callable[[], None]
) -> AsyncIterator[None]:
    """While open, call `wake` soon after another process stores a webhook body."""
    if isinstance(db, PostgresDatabase):
        async with _listening(db, wake):
            yield
        return
    watcher = asyncio.create_task(_watch_log(Path(f"{sqlite_path}-wal"), wake), name="inbox-wal")
    try:
        yield
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


@contextlib.asynccontextmanager
async def _listening(db: PostgresDatabase, wake: Callable[[], None]) -> AsyncIterator[None]:
    async with db.listening(CHANNEL, lambda _payload: wake()) as listening:
        if not listening:
            logger.warning("LISTEN failed: stored webhook bodies are found every half second")
        yield


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        seen = os.stat(path)
    except OSError:  # no log yet (nothing written), or checkpointed away
        return None
    return seen.st_size, seen.st_mtime_ns


async def _watch_log(path: Path, wake: Callable[[], None]) -> None:
    last = _signature(path)
    while True:
        await asyncio.sleep(WATCH_SECONDS)
        now = _signature(path)
        if now != last:
            last = now
            wake()
