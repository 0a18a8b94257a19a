"""`H11Transport`: httpx's transport for plain HTTP/1.1, on asyncio streams and h11.

Why hand-built: with httpx's default transport (httpcore over anyio), a keep-alive POST of a
small JSON body cost 930 µs of CPU on our machine; on this one, 500 µs; the same bytes on bare
asyncio streams, 80 µs (`bench/http_client.py`, 5 rounds each). ws_bot makes three such calls
per WhatsApp message (mark read, llm_back, the reply), and the sandbox phone four (one webhook
per message and status). What stays in libraries: httpx builds the requests and reads the
responses (the API every caller sees), h11 writes and parses HTTP/1.1, `ssl` does TLS. What is
ours: a keep-alive pool per origin, one write per request, timeouts, and the mapping of errors
to httpx's exceptions as httpcore maps them, so `RetryPolicy` behaves the same.
`tests/shared/test_h11_transport.py` keeps httpcore as the oracle (the same bytes on the wire
and the same responses for random requests and framings) and covers TLS, timeouts and
connections a server closed.

Not covered, by design: HTTP/2 and proxies. httpx mounts its own transports for proxies named
in the environment (HTTP_PROXY …), so those requests never reach this one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import cast

import h11
import httpx

DEFAULT_PORTS = {"http": 80, "https": 443}
# An idle connection older than this is closed rather than reused. Below uvicorn's 5 s (the
# server side of every internal call), so a request is never sent into a connection the server
# is closing at that moment; httpcore's 5 s left that race open.
KEEPALIVE_SECONDS = 4.0
MAX_IDLE_PER_ORIGIN = 20  # httpx's default max_keepalive_connections
READ_SIZE = 64 * 1024
WRITE_SIZE = 64 * 1024  # a body is sent in pieces of about this size

Origin = tuple[str, str, int]


@dataclass(eq=False)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    h11: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT))
    idle_since: float = 0.0

    def reusable(self, now: float) -> bool:
        # A server that closed an idle connection has fed EOF to the reader by now: reusing it
        # would lose the request ("Server disconnected without sending a response").
        return (
            now - self.idle_since < KEEPALIVE_SECONDS
            and not self.reader.at_eof()
            and not self.writer.is_closing()
        )

    def close(self) -> None:
        self.writer.close()


def _timeout(request: httpx.Request, kind: str) -> float | None:
    value = request.extensions.get("timeout", {}).get(kind)
    return float(value) if value is not None else None


def _origin(url: httpx.URL) -> Origin:
    scheme = url.scheme
    if scheme not in DEFAULT_PORTS:
        raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol '{scheme}://'.")
    if not url.host:
        raise httpx.UnsupportedProtocol("Request URL is missing a host.")
    return scheme, url.host, url.port or DEFAULT_PORTS[scheme]


class H11Transport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with keep-alive, one pool of idle connections per origin (scheme, host, port)."""

    def __init__(self, ssl_context: ssl.SSLContext, max_connections: int | None = None) -> None:
        self._ssl_context = ssl_context
        self._idle: dict[Origin, list[_Connection]] = {}
        self._closed = False
        # Requests beyond `max_connections` wait (without a deadline) for one to finish.
        self._slots = asyncio.Semaphore(max_connections) if max_connections else None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the transport is closed")
        origin = _origin(request.url)
        if self._slots is not None:
            await self._slots.acquire()
        try:
            conn = self._checkout(origin) or await self._connect(origin, request)
        except BaseException:
            self._release()
            raise
        try:
            await self._send(conn, request)
            head = await self._receive_head(conn, request)
        except BaseException:
            self.discard(conn)
            raise
        return httpx.Response(
            head.status_code,
            headers=head.headers,
            stream=_Body(self, origin, conn, _timeout(request, "read")),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason},
        )

    async def aclose(self) -> None:
        self._closed = True
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()

    def _checkout(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.reusable(now):
                return conn
            conn.close()
        return None

    def checkin(self, origin: Origin, conn: _Connection) -> None:
        """Keep a connection whose exchange ended cleanly, for the origin's next request."""
        idle = self._idle.setdefault(origin, [])
        done = conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE
        if self._closed or not done or len(idle) >= MAX_IDLE_PER_ORIGIN:
            self.discard(conn)
            return
        conn.h11.start_next_cycle()
        conn.idle_since = time.monotonic()
        idle.append(conn)
        self._release()

    def discard(self, conn: _Connection) -> None:
        """Close a connection whose exchange failed or was abandoned."""
        conn.close()
        self._release()

    def _release(self) -> None:
        if self._slots is not None:
            self._slots.release()

    async def _connect(self, origin: Origin, request: httpx.Request) -> _Connection:
        scheme, host, port = origin
        tls = self._ssl_context if scheme == "https" else None
        try:
            async with asyncio.timeout(_timeout(request, "connect")):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=tls, server_hostname=host if tls else None, limit=READ_SIZE
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        return _Connection(reader, writer)

    async def _send(self, conn: _Connection, request: httpx.Request) -> None:
        # The head and a small body leave in one write: httpcore writes them apart, which costs
        # a second system call here and a second wake-up at the server.
        pending = bytearray()
        try:
            event = h11.Request(
                method=request.method, target=request.url.raw_path, headers=request.headers.raw
            )
            pending += conn.h11.send(event) or b""
            assert isinstance(request.stream, httpx.AsyncByteStream)
            async for chunk in request.stream:
                pending += conn.h11.send(h11.Data(data=chunk)) or b""
                if len(pending) >= WRITE_SIZE:
                    await self._write(conn, request, bytes(pending))
                    pending.clear()
            pending += conn.h11.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc), request=request) from exc
        await self._write(conn, request, bytes(pending))

    @staticmethod
    async def _write(conn: _Connection, request: httpx.Request, data: bytes) -> None:
        if not data:
            return
        try:
            conn.writer.write(data)
            if not conn.writer.transport.get_write_buffer_size():
                return  # the kernel took it all: no need to arm a timer and wait
            async with asyncio.timeout(_timeout(request, "write")):
                await conn.writer.drain()
        except TimeoutError as exc:
            raise httpx.WriteTimeout("write timed out", request=request) from exc
        except OSError as exc:
            raise httpx.WriteError(str(exc), request=request) from exc

    async def _receive_head(self, conn: _Connection, request: httpx.Request) -> h11.Response:
        while True:
            event = await _next_event(conn, _timeout(request, "read"), request)
            if isinstance(event, h11.Response):
                return event
            if not isinstance(event, h11.InformationalResponse):  # 100 Continue and the like
                raise httpx.RemoteProtocolError(f"unexpected {event!r}", request=request)


async def _next_event(
    conn: _Connection, seconds: float | None, request: httpx.Request | None = None
) -> h11.Event | type[h11.PAUSED]:
    """The next h11 event, reading from the socket as needed; errors as httpcore raises them."""
    while True:
        try:
            event = conn.h11.next_event()
        except h11.RemoteProtocolError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        if event is not h11.NEED_DATA:
            return cast("h11.Event | type[h11.PAUSED]", event)  # h11's sentinels are classes
        try:
            async with asyncio.timeout(seconds):
                data = await conn.reader.read(READ_SIZE)
        except TimeoutError as exc:
            raise httpx.ReadTimeout("read timed out", request=request) from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ReadError(str(exc), request=request) from exc
        if not data and conn.h11.their_state is h11.SEND_RESPONSE:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        conn.h11.receive_data(data)


class _Body(httpx.AsyncByteStream):
    """A response body read as the caller consumes it; the connection goes back to the pool
    once the body has been read to its end, and is closed if the caller stops early."""

    def __init__(
        self, pool: H11Transport, origin: Origin, conn: _Connection, timeout: float | None
    ) -> None:
        self._pool = pool
        self._origin = origin
        self._conn: _Connection | None = conn
        self._timeout = timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        try:
            while True:
                event = await _next_event(conn, self._timeout)
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                    break
        except BaseException:
            self._drop()
            raise
        self._conn = None
        self._pool.checkin(self._origin, conn)

    def _drop(self) -> None:
        if self._conn is not None:
            self._pool.discard(self._conn)
            self._conn = None

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            self._drop()
