"""Processes for the benchmarks, started with the test helpers (one way to start a service)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import ServiceProcess, make_spawner

Spawn = Callable[..., ServiceProcess]


@contextmanager
def spawner(base: Path) -> Iterator[Spawn]:
    """A `spawn` like the test fixture's; everything it started is stopped on exit."""
    spawn, started = make_spawner(base)
    try:
        yield spawn
    finally:
        for proc in reversed(started):
            proc.stop()


def bare_app(spawn: Spawn) -> ServiceProcess:
    return spawn("bare", [sys.executable, "-m", "bench._bare_app", "{port}"])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]
