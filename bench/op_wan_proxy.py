"""A TCP proxy that adds one-way latency, so a local wallet behaves like one across a network.

Round trips only matter when they cost time; on loopback they cost almost nothing, and the
benchmark would only measure the sandbox's CPU. Every chunk is forwarded `delay` seconds after it
arrived (order kept, no bandwidth limit), so each request/response exchange costs one RTT, as
over a real link. Hand-written because it is thirty lines and needs no dependency.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            if not data:
                break
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(OSError):
            writer.close()

    delivering = asyncio.create_task(deliver())
    try:
        while data := await reader.read(65536):
            queue.put_nowait((time.monotonic() + delay, data))
    except OSError:
        pass
    queue.put_nowait((0.0, b""))
    await delivering


class LatencyProxy:
    """`LatencyProxy(listen_port, target_port, rtt_ms).start()` in a background thread."""

    def __init__(self, listen_port: int, target_port: int, rtt_ms: float) -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self.one_way = rtt_ms / 2000
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(
            _pipe(reader, up_writer, self.one_way), _pipe(up_reader, writer, self.one_way)
        )

    async def _serve(self) -> None:
        server = await asyncio.start_server(self._handle, "127.0.0.1", self.listen_port)
        self._ready.set()
        async with server:
            await server.serve_forever()

    def start(self) -> LatencyProxy:
        thread = threading.Thread(
            target=self._loop.run_until_complete, args=(self._serve(),), daemon=True
        )
        thread.start()
        self._ready.wait(5)
        return self
