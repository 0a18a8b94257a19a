"""shared.untrusted against a hostile server on 127.0.0.1: byte cap, deadline, redirects, and the
address check (numeric host forms, resolution, connecting to the checked address)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from shared.untrusted import (
    FetchLimits,
    UntrustedUrlError,
    check_host,
    fetch,
    forbidden_address,
    literal_address,
    untrusted_client,
)
from tests.support.hostile import HostileServer
from tests.support.tls import self_signed


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer(drip_seconds=2.0) as server:
        server.documents["/ok"] = {"fine": True}
        yield server


# ---------------------------------------------------------------- numeric forms and addresses


@pytest.mark.parametrize(
    "host",
    [
        "2130706433",
        "0x7f000001",
        "0X7F.1",
        "127.1",
        "0",
        "0177.0.0.1",
        "017700000001",
        "127.0.0.1.",
        "127.000.000.001",
        "1.2.3.256",
        "10.0.0.0x5",
        "0x",
        "1.2.3.4.5",
    ],
)
def test_non_canonical_numeric_hosts_are_refused_even_in_the_sandbox(host: str) -> None:
    for allow in (False, True):
        with pytest.raises(UntrustedUrlError) as caught:
            check_host(host, allow_private=allow)
        assert caught.value.code == "address"


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "10.0.0.5",
        "192.168.1.1",
        "172.16.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "100.64.0.1",
        "::1",
        "[::1]",
        "::ffff:127.0.0.1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::",
        "localhost",
        "db.localhost",
    ],
)
def test_private_hosts_are_refused_unless_allowed(host: str) -> None:
    with pytest.raises(UntrustedUrlError):
        check_host(host, allow_private=False)
    check_host(host, allow_private=True)


@pytest.mark.parametrize(
    "host",
    ["8.8.8.8", "wallet.example", "ilp.interledger-test.dev", "2001:4860:4860::8888", "a1.example"],
)
def test_public_hosts_pass(host: str) -> None:
    check_host(host, allow_private=False)


def test_literal_address_reads_only_canonical_forms() -> None:
    assert literal_address("127.0.0.1") == ipaddress.IPv4Address("127.0.0.1")
    assert literal_address("wallet.example") is None
    assert literal_address("example.123abc") is None  # a name: its last label is not a number
    assert forbidden_address(ipaddress.ip_address("::ffff:10.0.0.1"))
    assert not forbidden_address(ipaddress.ip_address("93.184.216.34"))


# ---------------------------------------------------------------- resolution and pinning


def _fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    """Route anyio.getaddrinfo through `answers` (no DNS server here); returns the asked names."""
    asked: list[str] = []
    real = anyio.getaddrinfo

    async def getaddrinfo(host: Any, port: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in answers:
            asked.append(name)
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, int(port))) for ip in answers[name]
            ]
        return await real(host, port, **kwargs)

    monkeypatch.setattr(anyio, "getaddrinfo", getaddrinfo)
    return asked


async def test_a_name_resolving_to_a_private_address_is_refused_before_connecting(
    hostile: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = _fake_dns(monkeypatch, {"evil.test": ["93.184.216.34", "127.0.0.1"]})
    async with untrusted_client(allow_private=False, retries=1) as client:
        with pytest.raises(httpx.HTTPError) as caught:
            await fetch(client, f"http://evil.test:{hostile.port}/ok")
    assert isinstance(caught.value.__cause__, UntrustedUrlError)
    assert asked == ["evil.test"]
    assert hostile.received == []


async def test_the_connection_goes_to_the_address_that_was_checked(
    hostile: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The transport resolves the name itself and connects to that answer (so a second, different
    # DNS answer cannot be used); the Host header still names the host.
    asked = _fake_dns(monkeypatch, {"pinned.test": ["127.0.0.1"]})
    async with untrusted_client(allow_private=True) as client:
        response = await fetch(client, f"http://pinned.test:{hostile.port}/ok")
    assert response.json() == {"fine": True}
    assert asked == ["pinned.test"]
    assert hostile.received[0].headers["host"] == f"pinned.test:{hostile.port}"


async def test_resolution_does_not_block_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_getaddrinfo(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.0)  # a slow resolver, in the worker thread anyio uses
        raise socket.gaierror("no such host")

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    task = asyncio.create_task(ticker())
    async with untrusted_client(allow_private=False, retries=1) as client:
        with pytest.raises(httpx.HTTPError):
            await fetch(client, "https://slow-dns.example/x")
    task.cancel()
    assert ticks >= 5  # the loop kept running while the name was being resolved


# ---------------------------------------------------------------- size, time, redirects


async def test_an_endless_document_is_cut_at_the_cap_with_bounded_memory(
    hostile: HostileServer,
) -> None:
    tracemalloc.start()
    try:
        async with untrusted_client(allow_private=True) as client:
            with pytest.raises(UntrustedUrlError) as caught:
                await fetch(client, f"{hostile.url}/huge", limits=FetchLimits(max_bytes=65536))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.code == "too_large"
    assert peak < 8 * 2**20, f"peak {peak} bytes while refusing a 300 MiB answer"
    assert hostile.bytes_sent < 100 * 2**20


async def test_a_declared_huge_length_is_refused_without_reading(hostile: HostileServer) -> None:
    async with untrusted_client(allow_private=True) as client:
        with pytest.raises(UntrustedUrlError) as caught:
            await fetch(client, f"{hostile.url}/huge-declared")
    assert caught.value.code == "too_large"


async def test_slow_drip_servers_hit_the_deadline_and_do_not_block_others(
    hostile: HostileServer,
) -> None:
    limits = FetchLimits(deadline_seconds=1.5)
    async with untrusted_client(allow_private=True) as client:
        loop = asyncio.get_running_loop()
        started = loop.time()
        drips = [
            asyncio.create_task(fetch(client, f"{hostile.url}/drip/{i}", limits=limits))
            for i in range(8)
        ]
        good = await fetch(client, f"{hostile.url}/ok", limits=limits)
        assert good.json() == {"fine": True}
        assert not any(d.done() for d in drips)  # answered while eight drips were still open
        results = await asyncio.gather(*drips, return_exceptions=True)
        elapsed = loop.time() - started
    assert all(isinstance(r, UntrustedUrlError) and r.code == "timeout" for r in results), results
    assert elapsed < 1.5 + 10  # the deadline, plus generous slack for a loaded machine


async def test_redirects_stay_within_one_origin(hostile: HostileServer) -> None:
    hostile.redirect_to = hostile.url  # same origin: followed
    async with untrusted_client(allow_private=True) as client:
        response = await fetch(client, f"{hostile.url}/redirect/ok")
        assert response.json() == {"fine": True}
        hostile.redirect_to = f"http://localhost:{hostile.port}"  # same server, other origin
        with pytest.raises(UntrustedUrlError) as caught:
            await fetch(client, f"{hostile.url}/redirect/ok")
    assert caught.value.code == "redirect"
    assert [r.path for r in hostile.received] == ["/redirect/ok", "/ok", "/redirect/ok"]


async def test_tls_still_checks_the_host_name_when_the_address_is_pinned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The TCP connection goes to the checked address; the certificate must still name the host.
    server_tls, client_tls = self_signed(tmp_path, "wallet.test")
    _fake_dns(monkeypatch, {"wallet.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    with HostileServer(tls=server_tls) as server:
        server.documents["/ok"] = {"fine": True}
        async with untrusted_client(allow_private=True, ssl_context=client_tls) as client:
            response = await fetch(client, f"https://wallet.test:{server.port}/ok")
            assert response.json() == {"fine": True}
            with pytest.raises(httpx.ConnectError, match=r"(?i)certificate|hostname"):
                await fetch(client, f"https://other.test:{server.port}/ok")
