"""A background pass run again and again: the shape the gateway's followers share (money
requests, wallet links, scheduled payments).

Each pass runs to the end before the next is timed; a failing pass is logged and the next one
still comes, so one bad row or a moment without op_api never stops the following.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


class Periodic:
    """Runs `run_pass` forever: again after `pause()` seconds, or as soon as `wake()` is called."""

    def __init__(
        self,
        name: str,
        run_pass: Callable[[], Awaitable[None]],
        pause: Callable[[], Awaitable[float]],
    ) -> None:
        self.name = name
        self._run_pass = run_pass
        self._pause = pause
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the passes (again, if they had stopped); a no-op while they run."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._forever(), name=self.name)

    def wake(self) -> None:
        """Run the next pass now instead of at the end of the pause."""
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _forever(self) -> None:
        while True:
            try:
                await self._run_pass()
            except Exception:
                logger.exception("background pass failed", extra={"task": self.name})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), await self._pause())
            self._wake.clear()
