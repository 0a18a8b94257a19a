"""Shared wallet documents and grants: one request for concurrent misses, renewal on demand."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from op_api.access import incoming_access, quote_access
from op_api.caches import Caches
from op_api.client import InvalidResponseError, OpenPaymentsClient, SigningKey
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
            *(
                caches.grant(fs.AS, incoming_access(fs.BOB), resource_server=fs.RS)
                for _ in range(5)
            ),
            caches.grant(fs.AS, quote_access(), resource_server=fs.RS),
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
        await shared.grant(fs.AS, quote_access(), resource_server=fs.RS)
        await shared.grant(fs.AS, quote_access(), resource_server=fs.RS, renew=True)
        await shared.grant(fs.AS, quote_access(), resource_server=fs.RS)
        for _ in range(2):
            await off.wallet(fs.ALICE)
            await off.grant(fs.AS, quote_access(), resource_server=fs.RS)

    run_async(scenario())
    assert _count(server, "POST", f"{fs.AS}/") == 2 + 2
    assert _count(server, "GET", fs.ALICE) == 2


def test_a_shared_token_is_never_used_at_another_resource_server() -> None:
    # issue 14 (4): a wallet document naming the same auth server but its own resource server
    # got the token every other payment's quotes carried.
    server = fs.FakeServer()
    caches = _caches(server)

    async def scenario() -> tuple[str, ...]:
        first = await caches.grant(fs.AS, quote_access(), resource_server=fs.RS)
        again = await caches.grant(fs.AS, quote_access(), resource_server=fs.RS + "/")
        other = await caches.grant(fs.AS, quote_access(), resource_server="https://evil.test")
        return first.value, again.value, other.value

    run_async(scenario())
    # one grant for wallet.test (its second use shared it), a separate one for evil.test
    assert _count(server, "POST", f"{fs.AS}/") == 2


def test_wallet_documents_are_believed_only_about_their_own_origin() -> None:
    server = fs.FakeServer()
    caches = _caches(server)
    lies = {
        "id": "https://10.0.0.5:8443/admin",
        "resourceServer": "https://evil.test",
        "authServer": "https://2130706433/auth",
    }
    for field, value in lies.items():
        lying = {**fs.wallet(fs.BOB), field: value}
        server.errors[("GET", fs.BOB)] = httpx.Response(200, json=lying)
        with pytest.raises(InvalidResponseError):
            run_async(caches.wallet(fs.BOB))
    server.errors.clear()
    run_async(caches.wallet(fs.BOB))  # the honest document is accepted


def test_a_wallet_document_with_an_unusable_asset_is_refused() -> None:
    server = fs.FakeServer()
    caches = _caches(server)
    for field, value in (("assetCode", "USD\n• Fee: 0.00"), ("assetScale", 200)):
        odd = {**fs.wallet(fs.BOB), field: value}
        server.errors[("GET", fs.BOB)] = httpx.Response(200, json=odd)
        with pytest.raises(InvalidResponseError):
            run_async(caches.wallet(fs.BOB))
