"""How a worker in a process of its own (`ROLE=worker`) hears that a webhook body was stored.

With `ROLE=all` the ack wakes the worker beside it directly. Across processes:

- PostgreSQL: the webhook process's group commit sends a NOTIFY on `CHANNEL` in the same
  statement, delivered when (and only if) the bodies commit; the worker LISTENs on one
  connection held from its pool.
- SQLite: both processes open the same database file, so beside it lies a doorbell: a 16-byte
  file the webhook process rewrites after each group commit (`Doorbell.ring`, one `pwrite`,
  no flush) and the worker reads every `WATCH_SECONDS` (one `pread`, no query, no thread hop).
  Watching the database's write-ahead log instead woke the worker on its own commits too, a
  look for bodies each time: about 1 ms more of its CPU per message in `e2e_throughput`.

Either way the worker also looks for bodies every half second on its own, so a lost signal
delays a message, it never loses one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import struct
from collections.abc import AsyncIterator, Callable

from shared.sql import Database, PostgresDatabase, SqliteDatabase

logger = logging.getLogger(__name__)

CHANNEL = "ws_webhooks_stored"
WATCH_SECONDS = 0.02


class Doorbell:
    """The file beside a SQLite database that says "a body was stored" across processes.

    What is written is this process's id and its count of rings, so two webhook processes
    never write the same bytes; its contents, not its modification time, are compared (file
    times move in coarse steps: two rings within one could read the same)."""

    def __init__(self, database_path: str) -> None:
        self.path = f"{database_path}-doorbell"
        self._fd: int | None = None
        self._rings = itertools.count(1)
        self._warned = False

    def _open(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    def ring(self) -> None:
        """Never raises: the bodies are committed whatever the bell does, and a worker that
        hears nothing still finds them within half a second."""
        try:
            os.pwrite(self._open(), struct.pack("<QQ", os.getpid(), next(self._rings)), 0)
        except OSError as exc:
            self._unusable(exc)

    def read(self) -> bytes:
        try:
            return os.pread(self._open(), 16, 0)
        except OSError as exc:
            self._unusable(exc)
            return b""

    def _unusable(self, exc: OSError) -> None:
        if not self._warned:  # once: it fails the same way every time
            self._warned = True
            logger.warning(
                "inbox doorbell unusable: stored bodies are found every half second",
                extra={"path": self.path, "error": str(exc)},
            )

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@contextlib.asynccontextmanager
async def hearing_stored_bodies(db: Database, wake: Callable[[], None]) -> AsyncIterator[None]:
    """While open, call `wake` soon after another process stores a webhook body in `db`."""
    if isinstance(db, PostgresDatabase):
        async with db.listening(CHANNEL, lambda _payload: wake()) as listening:
            if not listening:
                logger.warning("LISTEN failed: stored webhook bodies are found every half second")
            yield
        return
    assert isinstance(db, SqliteDatabase)
    bell = Doorbell(db.path)
    watcher = asyncio.create_task(_watch(bell, wake), name="inbox-doorbell")
    try:
        yield
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        bell.close()


async def _watch(bell: Doorbell, wake: Callable[[], None]) -> None:
    last = bell.read()
    while True:
        await asyncio.sleep(WATCH_SECONDS)
        now = bell.read()
        if now != last:
            last = now
            wake()
