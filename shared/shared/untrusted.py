"""Fetching from URLs that someone else chose (a user's wallet, the servers its document names).

Such a URL may point into our own network, answer with gigabytes, send one byte a minute or
redirect elsewhere. Every outgoing call to one goes through this module:

- `check_host` refuses numeric hosts written in anything but canonical form (`2130706433`,
  `0x7f000001`, `127.1`, `0`, `0177.0.0.1` all mean 127.0.0.1 to the resolver);
- `GuardedTransport` resolves the host asynchronously, refuses loopback, private, link-local,
  multicast, unspecified and reserved addresses, then connects to the address it checked — a DNS
  answer that changes between check and connect (rebinding) cannot slip through;
- `fetch` follows redirects only within one origin, reads the body as a stream up to a byte cap
  and gives up at an overall deadline, so a slow server cannot hold a worker.

`allow_private=True` turns the address check off (the sandbox and the tests run on 127.0.0.1);
it is tied to the ALLOW_INSECURE_HTTP development setting by the services.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpcore
import httpx

from shared.http import DEFAULT_TIMEOUT, RetryPolicy, create_client, default_ssl_context

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# What a resolver would read as an IPv4 address: its last label is a decimal, octal or hex number.
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
_CANONICAL_OCTET = re.compile(r"^(?:0|[1-9][0-9]{0,2})$")


class UntrustedUrlError(Exception):
    """A URL we will not fetch, or whose answer we will not read.

    `code`: `invalid` (not an absolute http(s) URL), `insecure` (http where https is required),
    `address` (a forbidden or non-canonical host), `redirect` (to another origin, or too many),
    `too_large`, `timeout`, `unreachable`.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------- address rules


def _canonical_ipv4(host: str) -> bool:
    parts = host.split(".")
    return len(parts) == 4 and all(_CANONICAL_OCTET.match(p) and int(p) <= 255 for p in parts)


def literal_address(host: str) -> IPAddress | None:
    """The IP address `host` names literally, or None for a host name.

    Raises UntrustedUrlError for numeric forms other than a canonical dotted quad or an IPv6
    literal: the resolver would read `127.1` or `2130706433` as 127.0.0.1, a checker may not.
    """
    bare = host.strip("[]")
    if ":" in bare:
        try:
            return ipaddress.IPv6Address(bare.split("%")[0])
        except ValueError as exc:
            raise UntrustedUrlError("address", f"not an IPv6 address: {host[:100]!r}") from exc
    name = bare.rstrip(".") if bare.endswith(".") and bare != "." else bare
    last = name.rsplit(".", 1)[-1]
    if not _NUMERIC_LABEL.match(last):
        return None
    if name != bare or not _canonical_ipv4(name):
        raise UntrustedUrlError("address", f"non-canonical numeric host {host[:100]!r}")
    return ipaddress.IPv4Address(name)


def forbidden_address(address: IPAddress) -> bool:
    """True for addresses that are not on the public internet (ours or someone's LAN)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        not address.is_global
        or address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
    )


def check_host(host: str, *, allow_private: bool) -> None:
    """Refuse non-canonical numeric hosts always, and private literal addresses unless allowed.

    Host names are checked again after resolution, by `GuardedTransport`.
    """
    if not host:
        raise UntrustedUrlError("invalid", "the URL has no host")
    address = literal_address(host)
    if allow_private:
        return
    if address is not None and forbidden_address(address):
        raise UntrustedUrlError("address", f"{host[:100]} is not a public address")
    if address is None and (host == "localhost" or host.endswith(".localhost")):
        raise UntrustedUrlError("address", f"{host[:100]} is not a public host")


async def resolve_public(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses to connect to for `host`, all checked; never blocks the event loop."""
    check_host(host, allow_private=allow_private)
    literal = literal_address(host)
    if literal is not None:
        return [str(literal)]
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        for text in addresses:
            if forbidden_address(ipaddress.ip_address(text.split("%")[0])):
                # One private answer is enough to refuse: it is a probe of our network.
                raise UntrustedUrlError("address", f"{host[:100]} resolves to {text}")
    if not addresses:
        raise httpcore.ConnectError(f"{host} has no address")
    return addresses


# ---------------------------------------------------------------------------- the transport


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks the host itself, then connects to the checked address.

    TLS is negotiated afterwards by httpcore with the original host name (SNI and certificate
    check), so only the TCP destination is pinned.
    """

    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        with anyio.fail_after(timeout):
            addresses = await resolve_public(host, port, allow_private=self._allow_private)
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
        raise error or httpcore.ConnectError(f"cannot connect to {host}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not for untrusted URLs")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class ForbiddenAddressError(httpx.RequestError):
    """The host is (or resolves to) an address we do not call. Not a TransportError, so
    `shared.http` does not retry it; still an httpx.HTTPError for callers."""


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, with every connection made through `_GuardedBackend`."""

    def __init__(
        self,
        *,
        allow_private: bool,
        limits: httpx.Limits | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(limits=limits, trust_env=False, verify=default_ssl_context())
        # httpx has no public option for the network backend; this replaces the pool it built
        # with the same settings (tests/shared/test_untrusted.py proves the check runs).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or default_ssl_context(),  # certifi, as httpx does
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(allow_private),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except UntrustedUrlError as exc:
            # Surface as an httpx error so callers' transport-error handling applies; the
            # cause keeps the reason.
            raise ForbiddenAddressError(str(exc), request=request) from exc


def untrusted_client(
    *,
    allow_private: bool,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    retries: int = 2,
    retry: RetryPolicy | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient for untrusted URLs: guarded connections, no redirects, no compression.
    `ssl_context` replaces the default CA bundle (tests with their own CA)."""
    return create_client(
        timeout=timeout,
        retries=retries,
        retry=retry,
        transport=GuardedTransport(allow_private=allow_private, ssl_context=ssl_context),
        # Compressed bodies would be inflated before the byte cap sees them.
        headers={"Accept-Encoding": "identity"},
    )


# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int = 64 * 1024
    deadline_seconds: float = 10.0
    max_redirects: int = 3


def origin(url: httpx.URL | str) -> tuple[str, str, int | None]:
    parsed = httpx.URL(str(url))
    default = {"http": 80, "https": 443}.get(parsed.scheme)
    return parsed.scheme, parsed.host, parsed.port or default


async def read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """The body of a streamed response, refusing more than `max_bytes` (never buffered whole)."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise UntrustedUrlError("too_large", f"refusing a {encoding}-encoded answer")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise UntrustedUrlError("too_large", f"answer of {declared} bytes (limit {max_bytes})")
    try:
        already = response.content  # read by an in-process transport (tests): nothing to stream
    except httpx.ResponseNotRead:
        pass
    else:
        if len(already) > max_bytes:
            raise UntrustedUrlError("too_large", f"answer over {max_bytes} bytes")
        return already
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if size > max_bytes:
            raise UntrustedUrlError("too_large", f"answer over {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def send_capped(
    client: httpx.AsyncClient, request: httpx.Request, max_bytes: int
) -> httpx.Response:
    """Send `request` and return its response with the body read (capped) and closed."""
    response = await client.send(request, stream=True)
    try:
        body = await read_capped(response, max_bytes)
    finally:
        await response.aclose()
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        content=body,
        request=response.request,
        extensions=response.extensions,
    )


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    limits: FetchLimits = FetchLimits(),
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """GET `url` within `limits`: same-origin redirects only, capped body, overall deadline.

    Raises UntrustedUrlError for what this module refuses, httpx.HTTPError when the server
    cannot be reached. `client` should come from `untrusted_client`.
    """
    try:
        async with asyncio.timeout(limits.deadline_seconds):
            return await _follow(client, url, limits, headers)
    except TimeoutError as exc:
        raise UntrustedUrlError(
            "timeout", f"no complete answer within {limits.deadline_seconds:g} s"
        ) from exc


async def _follow(
    client: httpx.AsyncClient,
    url: str,
    limits: FetchLimits,
    headers: Mapping[str, str] | None,
) -> httpx.Response:
    target = httpx.URL(url)
    for _ in range(limits.max_redirects + 1):
        request = client.build_request("GET", target, headers=headers)
        response = await send_capped(client, request, limits.max_bytes)
        if not response.is_redirect:
            return response
        location = target.join(response.headers.get("location", ""))
        if origin(location) != origin(target):
            raise UntrustedUrlError(
                "redirect", f"{target} redirects to another origin ({location.host})"
            )
        target = location
    raise UntrustedUrlError("redirect", f"{url} redirects more than {limits.max_redirects} times")
