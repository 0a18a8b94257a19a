"""A small hostile HTTP server on 127.0.0.1 for the untrusted-fetch tests.

It plays the wallet (or resource server) an attacker would run: an endless document, one byte
every few seconds, a redirect to another origin, or a wallet document that lies. It runs its own
event loop in a thread, so tests driving real service processes can use it too, and it records
every request it received (method, path, headers) so a test can see what was sent to it.

Routes (`GET` or `POST`, any path under them):
- `/huge`: 200 with an endless JSON-looking body, no Content-Length, as fast as it can write;
- `/huge-declared`: 200 declaring a 300 MiB Content-Length;
- `/drip`: 200 headers, then one byte every `drip_seconds`;
- `/redirect`: 302 to `redirect_to` + the rest of the path;
- anything in `documents`: 200 with that JSON (path → document).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.support.processes import free_port


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class HostileServer:
    drip_seconds: float = 3.0
    redirect_to: str = "http://localhost:9"
    documents: dict[str, Any] = field(default_factory=dict)
    tls: ssl.SSLContext | None = None  # serve https with this context
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    bytes_sent: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> HostileServer:
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready = threading.Event()

        async def listen() -> None:
            self._server = await asyncio.start_server(
                self._handle, "127.0.0.1", self.port, ssl=self.tls
            )

        def run() -> None:
            loop.run_until_complete(listen())
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True, name="hostile")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the hostile server did not start")
        return self

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        loop.close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode("latin-1").strip()
            if not request_line:
                return
            method, path, _ = request_line.split(" ", 2)
            headers: dict[str, str] = {}
            while (line := (await reader.readline()).decode("latin-1").strip()) != "":
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            if length:
                await reader.readexactly(length)
            self.received.append(Received(method, path, headers))
            await self._answer(path.split("?", 1)[0], writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()
        self.bytes_sent += len(data)

    async def _answer(self, path: str, writer: asyncio.StreamWriter) -> None:
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        if path in self.documents:
            body = json.dumps(self.documents[path]).encode()
            await self._write(writer, f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        elif path.startswith("/huge-declared"):
            await self._write(writer, f"{head}Content-Length: {300 * 2**20}\r\n\r\n".encode())
            chunk = b" " * 65536
            for _ in range(300 * 16):
                await self._write(writer, chunk)
        elif path.startswith("/huge"):
            await self._write(writer, f"{head}\r\n".encode() + b'{"id": "')
            chunk = b"A" * 65536
            for _ in range(300 * 16):  # 300 MiB unless the client hangs up first
                await self._write(writer, chunk)
        elif path.startswith("/drip"):
            await self._write(writer, f"{head}Content-Length: 1000\r\n\r\n".encode())
            for _ in range(1000):
                await self._write(writer, b" ")
                await asyncio.sleep(self.drip_seconds)
        elif path.startswith("/redirect"):
            target = self.redirect_to + path[len("/redirect") :]
            await self._write(
                writer,
                f"HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\n"
                "Connection: close\r\n\r\n".encode(),
            )
        else:
            await self._write(
                writer, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
