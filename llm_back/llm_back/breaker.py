"""A small circuit breaker in front of OpenAI, so a dead OpenAI costs nothing per message.

Hand-written on purpose: it is ~40 lines, needs no I/O of its own, and the async breaker
libraries on PyPI are either unmaintained or built around their own call wrappers, which would
hide the per-stage fallback decisions `understand.py` makes. Closed → after `failures` errors
in a row, open (calls skipped) → after `reset_seconds`, half-open (one trial call) → closed on
success, open again on failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import Gauge

BREAKER_OPEN = Gauge("paguito_llm_breaker_open", "1 while the OpenAI circuit breaker is open")


class CircuitBreaker:
    def __init__(
        self,
        failures: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures = failures
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._count = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_seconds:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """May a call go to OpenAI now? In half-open state only one trial at a time."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def abandon(self) -> None:
        """A call was cancelled before it could tell: let the next message try again."""
        self._trial_running = False

    def success(self) -> None:
        self._count = 0
        self._opened_at = None
        self._trial_running = False
        BREAKER_OPEN.set(0)

    def failure(self) -> None:
        self._count += 1
        self._trial_running = False
        if self._opened_at is not None or self._count >= self.failures:
            self._opened_at = self._clock()  # (re)open: a failed trial waits a full period
            BREAKER_OPEN.set(1)
