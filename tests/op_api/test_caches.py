"""Shared wallet documents and grants: one request for concurrent misses, renewal on demand."""

from __future__ import annotations

import asyncio

import httpx

from op_api.access import incoming_access, quote_access
from op_api.caches import Caches
from op_api.client import OpenPaymentsClient, SigningKey
from tests.op_api import fake_server as fs
from tests.op_api.harness import run_async


def _caches(server: fs.FakeServer, *, wallet_seconds: int = 60, reuse: bool = True) -> Caches:
    client = OpenPaymentsClient(
        fs.PLATFORM,
        SigningKey.generate(),
        http_client=httpx.AsyncClient(transport=server.transport()),
    )
    return Caches(client, wallet_seconds=wallet_seconds, reuse_grants=reuse)


def _count(server: fs.FakeServer, method: str, url: str) -> int:
    return sum(1 for r in server.requests if r.method == method and str(r.url) == url)


def test_concurrent_misses_make_one_request_each() -> None:
    server = fs.FakeServer()
    caches = _caches(server)

    async def scenario() -> None:
        wallets = await asyncio.gather(*(caches.wallet(fs.BOB) for _ in range(5)))
        assert {w.id for w in wallets} == {fs.BOB}
        tokens = await asyncio.gather(
            *(caches.grant(fs.AS, incoming_access(fs.BOB)) for _ in range(5)),
            caches.grant(fs.AS, quote_access()),
        )
        assert len({t.value for t in tokens}) == 1  # the fake server always says tok-1

    run_async(scenario())
    assert _count(server, "GET", fs.BOB) == 1
    assert _count(server, "POST", f"{fs.AS}/") == 2  # one per distinct access


def test_renewal_and_disabled_caches() -> None:
    server = fs.FakeServer()
    shared = _caches(server)
    off = _caches(server, wallet_seconds=0, reuse=False)

    async def scenario() -> None:
        await shared.grant(fs.AS, quote_access())
        await shared.grant(fs.AS, quote_access(), renew=True)
        await shared.grant(fs.AS, quote_access())
        for _ in range(2):
            await off.wallet(fs.ALICE)
            await off.grant(fs.AS, quote_access())

    run_async(scenario())
    assert _count(server, "POST", f"{fs.AS}/") == 2 + 2
    assert _count(server, "GET", fs.ALICE) == 2
