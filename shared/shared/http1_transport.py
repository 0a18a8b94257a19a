"""`Http1Transport`: httpx's transport for plain HTTP/1.1, on asyncio streams.

Why hand-built: with httpx's default transport (httpcore over anyio, h11 underneath), a
keep-alive POST of a small JSON body cost 930 µs of CPU on our machine; the same bytes on bare
asyncio streams, 80 µs (`bench/http_client.py`). ws_bot makes three such calls per WhatsApp
message (mark read, llm_back, the reply), and the sandbox phone four (one webhook per message
and status). A first version of this module kept h11 for writing and parsing, at about half
httpcore's CPU; h11 (pure Python) was then about a quarter of a call's instructions (1.43 M,
1.05 M with answers parsed by httptools instead: callgrind; see `_Exchange`).

What stays in libraries: httpx builds the requests and reads the responses (the API every
caller sees), httptools (llhttp in C, the parser uvicorn serves with) parses answers, `ssl` does
TLS. What is ours: writing the request (after the checks h11 makes, so a header value can never
smuggle another header or request), the body's framing, a keep-alive pool per origin, one write
per request, timeouts, and the mapping of errors to httpx's exceptions as httpcore maps them, so
`RetryPolicy` behaves the same. `tests/shared/test_http1_transport.py` keeps httpcore as the
oracle (the same bytes on the wire, the same responses and the same refusals for random requests
and framings) and covers TLS, timeouts and connections a server closed.

Not covered, by design: HTTP/2, upgrades and proxies. httpx mounts its own transports for
proxies named in the environment (HTTP_PROXY …), so those requests never reach this one.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httptools
import httpx

DEFAULT_PORTS = {"http": 80, "https": 443}
# An idle connection older than this is closed rather than reused. Below uvicorn's 5 s (the
# server side of every internal call), so a request is never sent into a connection the server
# is closing at that moment; httpcore's 5 s left that race open.
KEEPALIVE_SECONDS = 4.0
MAX_IDLE_PER_ORIGIN = 20  # httpx's default max_keepalive_connections
READ_SIZE = 64 * 1024
WRITE_SIZE = 64 * 1024  # a body is sent in pieces of about this size
CONTENT_LENGTH_MAX_DIGITS = 20  # as h11

Origin = tuple[str, str, int]

# The grammar h11 checks outgoing requests against (RFC 9110 and 9112).
_TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")
# As h11: a value is any bytes but NUL and whitespace, with single spaces or tabs inside; so no
# CR or LF (which would end the header) and nothing to trim at either end.
_FIELD_VALUE = re.compile(rb"(?:[^\x00\s]+(?:[ \t]+[^\x00\s]+)*)?")
_TARGET = re.compile(rb"[\x21-\x7e]+")
_DIGITS = re.compile(rb"[0-9]+")


def _refuse(request: httpx.Request, reason: str) -> httpx.LocalProtocolError:
    return httpx.LocalProtocolError(reason, request=request)


@dataclass(frozen=True)
class _Framing:
    """How the request body is sent: `length` bytes exactly, or chunked when `length` is None."""

    length: int | None
    close: bool  # the request asks the server to close the connection after answering


def _request_head(request: httpx.Request) -> tuple[bytes, _Framing]:
    """The request line and headers as h11 writes them (Host first), after h11's checks."""
    method = request.method.encode("ascii", "replace")  # a non-ASCII byte fails the token check
    target = request.url.raw_path
    if not _TOKEN.fullmatch(method):
        raise _refuse(request, f"Illegal method {method!r}")
    if not _TARGET.fullmatch(target):
        raise _refuse(request, f"Illegal target characters in {target!r}")
    host: list[bytes] = []
    rest: list[bytes] = []
    length: bytes | None = None
    chunked = close = False
    for name, value in request.headers.raw:
        if not _TOKEN.fullmatch(name):
            raise _refuse(request, f"Illegal header name {name!r}")
        if not _FIELD_VALUE.fullmatch(value):
            raise _refuse(request, f"Illegal header value {value!r}")
        lower = name.lower()
        if lower == b"host":
            host.append(b"%s: %s\r\n" % (name, value))
            continue
        if lower == b"content-length":
            lengths = {part.strip() for part in value.split(b",")}
            value = lengths.pop()
            if lengths or (length is not None and length != value):
                raise _refuse(request, "conflicting Content-Length headers")
            if not _DIGITS.fullmatch(value) or len(value) > CONTENT_LENGTH_MAX_DIGITS:
                raise _refuse(request, "bad Content-Length")
            if length is not None:
                continue  # the same length twice is written once
            length = value
        elif lower == b"transfer-encoding":
            if chunked:
                raise _refuse(request, "multiple Transfer-Encoding headers")
            value = value.lower()
            if value != b"chunked":
                raise _refuse(request, "Only Transfer-Encoding: chunked is supported")
            chunked = True
        elif lower == b"connection":
            close = close or b"close" in (part.strip().lower() for part in value.split(b","))
        rest.append(b"%s: %s\r\n" % (name, value))
    if len(host) != 1:
        raise _refuse(
            request,
            "Missing mandatory Host: header" if not host else "Found multiple Host: headers",
        )
    head = b"".join([b"%s %s HTTP/1.1\r\n" % (method, target), *host, *rest, b"\r\n"])
    # As h11: chunked wins over a length; neither means no body at all.
    framing = _Framing(None if chunked else int(length or b"0"), close)
    return head, framing


@dataclass(eq=False)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
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


class _Exchange:
    """One response, as httptools' callbacks hand it over.

    httptools is llhttp, in C: parsing a small answer costs a few microseconds (see the module
    docstring for what h11 cost). A fresh parser per response keeps no state between exchanges
    on a connection."""

    __slots__ = (
        "after_end",
        "body",
        "close_after",
        "complete",
        "framed",
        "head_done",
        "head_only",
        "headers",
        "parser",
        "persistent",
        "reason",
        "status",
        "version",
    )

    def __init__(self, head_only: bool, close_after: bool) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.head_only = head_only  # the answer to a HEAD: no body follows, whatever it says
        self.close_after = close_after  # the request asked for the connection to be closed
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.framed = False  # Content-Length or chunked: the end is in the bytes, not at EOF
        self.body: list[bytes] = []
        self.head_done = False
        self.complete = False
        self.after_end = False  # bytes came after the answer: the connection is not reused
        self.version = "1.1"
        self.persistent = False  # the server keeps the connection open after this answer

    # httptools' callbacks
    def on_status(self, reason: bytes) -> None:
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        # Lower-cased, as h11 (and so httpcore) hands headers to httpx.
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            self.headers.clear()  # 100 Continue and the like: the answer comes after
            self.reason = b""
            return
        self.status = status
        self.head_done = True
        # Asked here: once the message is complete, llhttp has reset and forgotten it.
        self.version = self.parser.get_http_version()
        self.persistent = self.parser.should_keep_alive() and self.version == "1.1"
        names = {name for name, _ in self.headers}
        self.framed = (
            b"content-length" in names
            or b"transfer-encoding" in names
            or status in (204, 304)
            or self.head_only
        )
        if self.head_only:
            self.complete = True

    def on_body(self, body: bytes) -> None:
        if self.complete:
            self.after_end = True
        elif body:
            self.body.append(body)

    def on_message_complete(self) -> None:
        if self.complete:
            self.after_end = True
        elif self.head_done:
            self.complete = True

    def feed(self, data: bytes, request: httpx.Request | None) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            raise httpx.RemoteProtocolError(
                "the server switched protocols", request=request
            ) from exc
        except httptools.HttpParserError as exc:
            if not self.complete:
                raise httpx.RemoteProtocolError(str(exc), request=request) from exc
            self.after_end = True  # garbage after a whole answer: that answer stands

    def at_eof(self, request: httpx.Request | None) -> None:
        """The server closed the connection: the end of a body without framing, else an error."""
        if not self.head_done:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if not self.complete and self.framed:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body", request=request
            )
        self.complete = True
        self.after_end = True  # closed: not reused

    def keep_alive(self) -> bool:
        return (
            self.complete
            and self.persistent
            and not (self.after_end or self.head_only or self.close_after)
        )

    def take_body(self) -> list[bytes]:
        body, self.body = self.body, []
        return body


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


async def _read(conn: _Connection, seconds: float | None, request: httpx.Request | None) -> bytes:
    """The next bytes from the server (b"" at EOF); errors as httpcore raises them."""
    try:
        async with asyncio.timeout(seconds):
            return await conn.reader.read(READ_SIZE)
    except TimeoutError as exc:
        raise httpx.ReadTimeout("read timed out", request=request) from exc
    except (OSError, ssl.SSLError) as exc:
        raise httpx.ReadError(str(exc), request=request) from exc


async def _receive(
    conn: _Connection, exchange: _Exchange, seconds: float | None, request: httpx.Request | None
) -> None:
    """Read once and hand the bytes (or the end of the connection) to the parser."""
    data = await _read(conn, seconds, request)
    if data:
        exchange.feed(data, request)
    else:
        exchange.at_eof(request)


class Http1Transport(httpx.AsyncBaseTransport):
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
        head, framing = _request_head(request)  # refused before any connection is taken
        if self._slots is not None:
            await self._slots.acquire()
        try:
            conn = self._checkout(origin) or await self._connect(origin, request)
        except BaseException:
            self._release()
            raise
        exchange = _Exchange(head_only=request.method == "HEAD", close_after=framing.close)
        try:
            await self._send(conn, request, head, framing)
            seconds = _timeout(request, "read")
            while not exchange.head_done:
                await _receive(conn, exchange, seconds, request)
        except BaseException:
            self.discard(conn)
            raise
        stream: httpx.AsyncByteStream
        if exchange.complete:
            # The whole answer came with its head (the usual small JSON): the connection goes
            # back at once, and httpx reads the body without a round through the socket.
            self.finish(origin, conn, exchange)
            stream = httpx.ByteStream(b"".join(exchange.take_body()))
        else:
            stream = _Body(self, origin, conn, exchange, seconds)
        return httpx.Response(
            exchange.status,
            headers=exchange.headers,
            stream=stream,
            extensions={
                "http_version": b"HTTP/" + exchange.version.encode(),
                "reason_phrase": exchange.reason,
            },
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

    def finish(self, origin: Origin, conn: _Connection, exchange: _Exchange) -> None:
        """Keep a connection whose exchange ended cleanly, for the origin's next request."""
        idle = self._idle.setdefault(origin, [])
        if self._closed or not exchange.keep_alive() or len(idle) >= MAX_IDLE_PER_ORIGIN:
            self.discard(conn)
            return
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

    async def _send(
        self, conn: _Connection, request: httpx.Request, head: bytes, framing: _Framing
    ) -> None:
        # The head and a small body leave in one write: httpcore writes them apart, which costs
        # a second system call here and a second wake-up at the server.
        pending = bytearray(head)
        sent = 0
        assert isinstance(request.stream, httpx.AsyncByteStream)
        async for chunk in request.stream:
            if not chunk:
                continue
            sent += len(chunk)
            if framing.length is None:
                pending += b"%x\r\n%s\r\n" % (len(chunk), chunk)
            elif sent > framing.length:
                raise _refuse(request, "Too much data for declared Content-Length")
            else:
                pending += chunk
            if len(pending) >= WRITE_SIZE:
                await self._write(conn, request, bytes(pending))
                pending.clear()
        if framing.length is None:
            pending += b"0\r\n\r\n"
        elif sent < framing.length:
            raise _refuse(request, "Too little data for declared Content-Length")
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


class _Body(httpx.AsyncByteStream):
    """A response body read as the caller consumes it, starting with what came with the head;
    the connection goes back to the pool once the body has been read to its end, and is closed
    if the caller stops early."""

    def __init__(
        self,
        pool: Http1Transport,
        origin: Origin,
        conn: _Connection,
        exchange: _Exchange,
        timeout: float | None,
    ) -> None:
        self._pool = pool
        self._origin = origin
        self._conn: _Connection | None = conn
        self._exchange = exchange
        self._timeout = timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn, exchange = self._conn, self._exchange
        if conn is None:
            return
        try:
            for piece in exchange.take_body():
                yield piece
            while not exchange.complete:
                await _receive(conn, exchange, self._timeout, None)
                for piece in exchange.take_body():
                    yield piece
        except BaseException:
            self._drop()
            raise
        self._conn = None
        self._pool.finish(self._origin, conn, exchange)

    def _drop(self) -> None:
        if self._conn is not None:
            self._pool.discard(self._conn)
            self._conn = None

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            self._drop()
