"""Fixtures for the gateway tests: one stack per test module (processes are slow to start)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.processes import make_spawner
from tests.ws_bot.support import Stack, start_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Fake llm_back/op_api/wallet + sandbox phone + ws_bot, shared by a module's tests."""
    spawn, started = make_spawner(tmp_path_factory.mktemp("ws_bot_stack"))
    try:
        yield start_stack(spawn)
    finally:
        for proc in reversed(started):
            proc.stop()


_ids = itertools.count(15550100000)


@pytest.fixture
def uid() -> Callable[[], str]:
    """Fresh WhatsApp ids, so tests sharing a stack never share a user."""
    return lambda: str(next(_ids))


def pointer(url: str) -> str:
    """http://127.0.0.1:P/alice → $127.0.0.1:P/alice (how people type wallet addresses)."""
    return "$" + url.split("://", 1)[1]


@pytest.fixture
def payments_api(stack: Stack) -> Any:
    import httpx

    assert stack.backends is not None
    base = stack.backends.url

    class _Api:
        def list(self) -> list[dict[str, Any]]:
            return list(httpx.get(base + "/_test/payments").json())

        def outcome(self, pid: str, status: str) -> None:
            httpx.post(base + f"/_test/payments/{pid}/outcome", json={"status": status})

        def down(self, service: str) -> None:
            httpx.post(base + f"/_test/down/{service}")

        def up(self, service: str) -> None:
            httpx.post(base + f"/_test/up/{service}")

        def for_key(self, key: str) -> dict[str, Any]:
            return next(p for p in self.list() if p["idempotency_key"] == key)

    return _Api()
