"""shared.http1_transport against httpcore (httpx's own transport) as the oracle, and against
servers on 127.0.0.1 that misbehave: the same bytes on the wire, the same responses and the same
refusals, keep-alive, dead connections, framings, timeouts and TLS."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import h11
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.http import create_client, default_ssl_context
from shared.http1_transport import Http1Transport
from tests.support.hostile import HostileServer
from tests.support.tls import self_signed

Reply = Callable[[bytes], bytes | None]  # the request's bytes → what to answer (None: hang up)


@dataclass
class ScriptedServer:
    """Answers each request on 127.0.0.1 with what `reply` returns; records the request bytes
    and how many connections were opened. h11 only tells where a request ends."""

    reply: Reply
    close_after_reply: bool = False
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    _sock: socket.socket = field(default_factory=socket.socket)

    def __enter__(self) -> ScriptedServer:
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        self._sock.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):  # a client hanging up mid-way is fine
            parser = h11.Connection(h11.SERVER)
            raw = b""
            while True:
                event = parser.next_event()
                if event is h11.NEED_DATA:
                    data = conn.recv(65536)
                    if not data:
                        return
                    raw += data
                    parser.receive_data(data)
                    continue
                if not isinstance(event, h11.EndOfMessage):
                    continue
                self.requests.append(raw)
                answer = self.reply(raw)
                if answer is None:
                    return
                conn.sendall(answer)
                if self.close_after_reply or b"\r\nconnection: close\r\n" in answer:
                    return
                # Any bytes after the end of this request belong to the next one.
                raw = bytes(parser.trailing_data[0])
                parser = h11.Connection(h11.SERVER)
                if raw:
                    parser.receive_data(raw)


def ok(body: bytes = b'{"ok":true}') -> Reply:
    return lambda _: b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)


@pytest.fixture
def transport() -> Http1Transport:
    return Http1Transport(default_ssl_context())


# ------------------------------------------------------------------------ httpcore as the oracle

_token = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
_value = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=0, max_size=30
).map(str.strip)
_body = st.binary(max_size=3000)


@st.composite
def responses(draw: st.DrawFn) -> bytes:
    """A response as a server might frame it: Content-Length, chunked, or none (then closed)."""
    status = draw(st.sampled_from([200, 201, 202, 204, 301, 400, 404, 409, 422, 429, 500, 503]))
    headers = draw(st.lists(st.tuples(_token.map(lambda t: "x-" + t), _value), max_size=5))
    body = b"" if status == 204 else draw(_body)
    framing = "length" if status == 204 else draw(st.sampled_from(["length", "chunked", "close"]))
    head = [f"HTTP/1.1 {status} Reason {status}"] + [f"{k}: {v}" for k, v in headers]
    if framing == "length":
        head.append(f"content-length: {len(body)}")
        payload = body
    elif framing == "chunked":
        head.append("transfer-encoding: chunked")
        cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=4)))
        pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces if p) + b"0\r\n\r\n"
    else:
        head.append("connection: close")
        payload = body
    return "\r\n".join(head).encode() + b"\r\n\r\n" + payload


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes | None]:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]))
    path = "/" + "/".join(draw(st.lists(_token, max_size=3)))
    query = draw(st.dictionaries(_token, _token, max_size=3))
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    headers = dict(draw(st.lists(st.tuples(_token.map(lambda t: "x-" + t), _value), max_size=4)))
    body = draw(st.none() | _body) if method not in ("GET", "OPTIONS") else None
    return method, path, headers, body


async def _exchange(
    transport: httpx.AsyncBaseTransport,
    server: ScriptedServer,
    request: tuple[str, str, dict[str, str], bytes | None],
) -> tuple[bytes, int, str, list[tuple[str, str]], bytes]:
    method, path, headers, body = request
    async with httpx.AsyncClient(transport=transport, base_url=server.url, timeout=5) as client:
        response = await client.request(method, path, headers=headers, content=body)
    return (
        server.requests[-1],
        response.status_code,
        response.reason_phrase,
        response.headers.multi_items(),
        response.content,
    )


@given(request=requests(), answer=responses())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_same_bytes_and_same_responses_as_httpcore(
    request: tuple[str, str, dict[str, str], bytes | None], answer: bytes
) -> None:
    with ScriptedServer(lambda _: answer) as server:
        ours = asyncio.run(_exchange(Http1Transport(default_ssl_context()), server, request))
        theirs = asyncio.run(_exchange(httpx.AsyncHTTPTransport(), server, request))
    assert ours == theirs


_risky_byte = st.sampled_from([b"\r", b"\n", b"\r\n", b"\x00", b"\x7f", b" ", b"\t", b"\x80"])
_risky = st.lists(
    st.one_of(st.text("abc-", min_size=1, max_size=3).map(str.encode), _risky_byte), max_size=5
).map(b"".join)


@st.composite
def risky_requests(draw: st.DrawFn) -> tuple[bytes, bytes, bytes, str | None]:
    """A header that may not be a header (CR, LF, NUL, spaces at the ends) and a declared
    Content-Length that may not match the body."""
    name = draw(st.sampled_from([b"x-risky", b"x risky", b"x:risky"]) | _risky)
    value = draw(_risky)
    body = draw(st.binary(max_size=20))
    declared = draw(st.none() | st.sampled_from(["0", "5", "20", "1, 1", "1, 2", "-1", "x"]))
    return name, value, body, declared


async def _attempt(
    transport: httpx.AsyncBaseTransport,
    server: ScriptedServer,
    request: tuple[bytes, bytes, bytes, str | None],
) -> tuple[str, bytes | None]:
    """Refused, or the bytes that reached the server."""
    name, value, body, declared = request
    before = len(server.requests)
    headers = [(name, value)] + ([(b"content-length", declared.encode())] if declared else [])
    async with httpx.AsyncClient(transport=transport, base_url=server.url, timeout=5) as client:
        try:
            await client.post("/risky", headers=headers, content=body)
        except (httpx.LocalProtocolError, h11.LocalProtocolError):
            # httpcore lets h11's own error out when a body does not match its length.
            return "refused", None
        except UnicodeEncodeError:
            return "not ASCII", None  # httpx's headers, before any transport
    return "sent", server.requests[before] if len(server.requests) > before else None


@given(request=risky_requests())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_refuses_what_httpcore_refuses(request: tuple[bytes, bytes, bytes, str | None]) -> None:
    # A header value must never carry a CR or LF into the request: it would smuggle a header,
    # or a whole second request. Whatever h11 (under httpcore) refuses, this refuses too.
    with ScriptedServer(ok()) as server:
        ours = asyncio.run(_attempt(Http1Transport(default_ssl_context()), server, request))
        theirs = asyncio.run(_attempt(httpx.AsyncHTTPTransport(), server, request))
    assert ours == theirs


# ------------------------------------------------------------------------------- connections


async def test_one_connection_serves_requests_one_after_another(transport: Http1Transport) -> None:
    with ScriptedServer(ok()) as server:
        async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
            for n in range(5):
                response = await client.post("/x", json={"n": n})
                assert response.json() == {"ok": True}
    assert server.connections == 1
    assert len(server.requests) == 5


async def test_a_connection_the_server_closed_is_not_reused(transport: Http1Transport) -> None:
    # Keep-alive on our side, a server that hangs up after each answer: the next request must
    # not be written into the dead connection and lost.
    with ScriptedServer(ok(), close_after_reply=True) as server:
        async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
            for _ in range(3):
                assert (await client.get("/x")).status_code == 200
                await asyncio.sleep(0.05)  # the server's FIN reaches the reader
    assert server.connections == 3


async def test_a_request_asking_to_close_does_not_reuse_its_connection(
    transport: Http1Transport,
) -> None:
    with ScriptedServer(ok()) as server:
        async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
            for _ in range(2):
                response = await client.get("/x", headers={"Connection": "close"})
                assert response.status_code == 200
    assert server.connections == 2


async def test_a_body_left_unread_closes_its_connection(transport: Http1Transport) -> None:
    with ScriptedServer(ok(b"x" * 200_000)) as server:
        async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
            async with client.stream("GET", "/big") as response:
                async for _ in response.aiter_raw():
                    break  # stop after the first piece
            assert len((await client.get("/big")).content) == 200_000
    assert server.connections == 2


async def test_a_long_chunked_body_is_streamed_and_its_connection_reused(
    transport: Http1Transport,
) -> None:
    body = bytes(range(256)) * 800  # 200 KiB: more than one read, so streamed
    pieces = [body[i : i + 7000] for i in range(0, len(body), 7000)]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    answer = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + chunked
    with ScriptedServer(lambda _: answer) as server:
        async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
            async with client.stream("GET", "/big") as response:
                received = [piece async for piece in response.aiter_raw()]
            assert b"".join(received) == body
            assert len(received) > 1
            assert (await client.get("/again")).content == body
    assert server.connections == 1


async def test_an_answer_dribbled_a_few_bytes_at_a_time(transport: Http1Transport) -> None:
    # The head, a chunk size and the body split anywhere: the parser takes what comes.
    answer = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked"
        b'\r\n\r\n6\r\n{"a":1\r\n1\r\n}\r\n0\r\n\r\n'
    )

    async def dribble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        for i in range(0, len(answer), 3):
            writer.write(answer[i : i + 3])
            await writer.drain()
            await asyncio.sleep(0.002)
        writer.close()

    server = await asyncio.start_server(dribble, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(transport=transport) as client:
            response = await client.get(f"http://127.0.0.1:{port}/")
            assert (response.status_code, response.json()) == (200, {"a": 1})
            assert response.headers["content-type"] == "application/json"
    finally:
        server.close()
        await server.wait_closed()


async def test_an_informational_answer_is_skipped(transport: Http1Transport) -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok"
    with ScriptedServer(lambda _: answer) as server:
        async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
            response = await client.post("/x", content=b"body")
            assert (response.status_code, response.reason_phrase, response.content) == (
                201,
                "Created",
                b"ok",
            )
            assert list(response.headers.keys()) == ["content-length"]
            assert (await client.get("/y")).status_code == 201
    assert server.connections == 1


async def test_the_answer_to_a_head_has_no_body(transport: Http1Transport) -> None:
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n"
    with ScriptedServer(lambda _: answer) as server:
        async with httpx.AsyncClient(transport=transport, base_url=server.url, timeout=2) as c:
            response = await c.head("/x")
            assert (response.status_code, response.content) == (200, b"")
            assert response.headers["content-length"] == "1000"


async def test_bytes_after_a_whole_answer_leave_it_standing_but_close_the_connection(
    transport: Http1Transport,
) -> None:
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokSURPRISE"
    with ScriptedServer(lambda _: answer) as server:
        async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
            assert (await client.get("/1")).content == b"ok"
            assert (await client.get("/2")).content == b"ok"
    assert server.connections == 2


async def test_a_body_cut_short_is_a_protocol_error(transport: Http1Transport) -> None:
    with ScriptedServer(lambda _: b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc") as server:
        server.close_after_reply = True
        async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
            with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
                await client.get("/x")


async def test_parallel_requests_each_get_a_connection(transport: Http1Transport) -> None:
    with ScriptedServer(ok()) as server:
        async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
            answers = await asyncio.gather(*(client.get(f"/{n}") for n in range(6)))
            assert all(a.status_code == 200 for a in answers)
            await client.get("/again")
    assert len(server.requests) == 7
    assert server.connections == 6  # the seventh reused one of them


async def test_max_connections_makes_the_rest_wait_their_turn() -> None:
    transport = Http1Transport(default_ssl_context(), max_connections=2)
    with ScriptedServer(ok()) as server:
        async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
            answers = await asyncio.gather(*(client.get(f"/{n}") for n in range(8)))
            with pytest.raises(httpx.ConnectError):  # a failed connect gives its slot back…
                await client.get("http://127.0.0.1:1/")
            with pytest.raises(httpx.ConnectError):
                await client.get("http://127.0.0.1:1/")
            assert (await client.get("/after")).status_code == 200  # …or this would hang
    assert [a.status_code for a in answers] == [200] * 8
    assert server.connections == 2


# -------------------------------------------------------------------------- errors, as httpx's


async def test_a_refused_connection_is_a_connect_error(transport: Http1Transport) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_a_server_hanging_up_without_an_answer_is_a_protocol_error(
    transport: Http1Transport,
) -> None:
    with ScriptedServer(lambda _: None) as server:
        async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
            with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
                await client.post("/x", content=b"payment")


async def test_a_silent_server_is_a_read_timeout(transport: Http1Transport) -> None:
    release = threading.Event()

    def never(_: bytes) -> bytes:
        release.wait(5)
        return b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"

    with ScriptedServer(never) as server:
        async with httpx.AsyncClient(
            transport=transport, base_url=server.url, timeout=httpx.Timeout(0.2)
        ) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get("/slow")
        release.set()


async def test_garbage_instead_of_http_is_a_protocol_error(transport: Http1Transport) -> None:
    with ScriptedServer(lambda _: b"SSH-2.0-OpenSSH\r\n\r\n") as server:
        async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get("/")


async def test_other_schemes_are_refused(transport: Http1Transport) -> None:
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.UnsupportedProtocol):
            await client.get("ftp://127.0.0.1/file")


async def test_retry_policy_retries_a_refused_get_through_this_transport() -> None:
    # create_client's default inner transport is this one; idempotent calls are retried on its
    # ConnectError exactly as they were on httpcore's.
    attempts = 0
    with ScriptedServer(ok()) as server:
        real = Http1Transport(default_ssl_context())

        class FlakyOnce(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                nonlocal attempts
                attempts += 1
                if attempts == 1:  # as if the server were not up yet
                    dead = httpx.Request("GET", request.url.copy_with(port=1))
                    return await real.handle_async_request(dead)
                return await real.handle_async_request(request)

        async with create_client(base_url=server.url, transport=FlakyOnce()) as client:
            assert (await client.get("/x")).status_code == 200
    assert attempts == 2


async def test_service_clients_keep_no_cookies() -> None:
    # One client carries every user's calls: a cookie set in one answer must not ride along on
    # the next call.
    answer = b"HTTP/1.1 200 OK\r\nset-cookie: session=abc; Path=/\r\ncontent-length: 2\r\n\r\n{}"
    with ScriptedServer(lambda _: answer) as server:
        async with create_client(base_url=server.url) as client:
            first = await client.get("/login")
            assert first.headers["set-cookie"].startswith("session=abc")
            await client.get("/next")
            assert not client.cookies
            with pytest.raises(TypeError):
                client.cookies = {"session": "abc"}
    assert b"cookie:" not in server.requests[1].lower()


# ----------------------------------------------------------------------------------------- TLS


async def test_tls_is_verified_and_names_the_host(tmp_path: Path) -> None:
    server_tls, client_tls = self_signed(tmp_path, "localhost")
    with HostileServer(tls=server_tls) as server:
        server.documents["/secret"] = {"fine": True}
        async with httpx.AsyncClient(transport=Http1Transport(client_tls)) as client:
            answer = await client.get(f"https://localhost:{server.port}/secret")
            assert answer.json() == {"fine": True}
            with pytest.raises(httpx.ConnectError, match=r"(?i)certificate|hostname|match"):
                await client.get(f"https://127.0.0.1:{server.port}/secret")  # not the cert's name
        async with httpx.AsyncClient(transport=Http1Transport(default_ssl_context())) as client:
            with pytest.raises(httpx.ConnectError, match=r"(?i)certificate"):
                await client.get(f"https://localhost:{server.port}/secret")  # self-signed
    assert [r.path for r in server.received] == ["/secret"]
