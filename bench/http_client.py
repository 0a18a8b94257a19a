"""CPU per outgoing call: httpx on its own transport (httpcore over anyio) vs on ours
(`shared.http1_transport`), then also without cookies (`shared.http.CookielessClient`, what
`create_client` builds), and the bare bytes on asyncio streams as the floor, in one run.

`uv run python -m bench http_client [--requests N] [--rounds R]`

Each call is what ws_bot sends llm_back or the Graph API: a keep-alive POST of a small JSON body,
answered by a server in another process with a small JSON document, read and parsed. The server
is a bare asyncio one, so its own cost is not in any figure. "bare streams" writes the same
request bytes and reads the same answer with no HTTP client at all (no request object, no
header checks): it is what the work costs, not something a client could reach. Rounds alternate
the four; printed: median CPU time (this process, every thread) per call, the range over
rounds, and the ratio of each to httpcore.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from bench._stack import spawner
from shared.http import CookielessClient, default_ssl_context
from shared.http1_transport import Http1Transport

SERVER = """
import asyncio, sys
ANSWER = b'{"intent":"greeting","reply":"hola"}'
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            length = 0
            for line in head.split(b"\\r\\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\n"
                         b"content-length: %d\\r\\n\\r\\n%s" % (len(ANSWER), ANSWER))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()
asyncio.run(main())
"""
BODY: dict[str, Any] = {"text": "hola", "language": "es", "history": [], "draft": None}


def _client(transport: httpx.AsyncBaseTransport | None, url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, transport=transport)


async def _calls(client: httpx.AsyncClient, n: int) -> None:
    for _ in range(n):
        response = await client.post("/understand", json=BODY)
        response.raise_for_status()
        response.json()


async def _bare(port: int, n: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = json.dumps(BODY).encode()
    request = (
        b"POST /understand HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(body), body)
    )
    for _ in range(n):
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        json.loads(await reader.readexactly(length))
    writer.close()


async def _cpu_per_call(run: Callable[[int], Awaitable[None]], n: int) -> float:
    await run(min(n, 200))  # connect and warm up
    start = time.process_time()
    await run(n)
    return (time.process_time() - start) / n * 1e6


async def measure(port: int, requests: int, rounds: int) -> dict[str, list[float]]:
    url = f"http://127.0.0.1:{port}"
    costs: dict[str, list[float]] = {
        "httpcore": [],
        "http1_transport": [],
        "+ cookieless": [],
        "bare streams": [],
    }
    async with (
        _client(None, url) as httpcore_client,
        _client(Http1Transport(default_ssl_context()), url) as ours,
        CookielessClient(base_url=url, transport=Http1Transport(default_ssl_context())) as service,
    ):
        clients = {"httpcore": httpcore_client, "http1_transport": ours, "+ cookieless": service}
        for _ in range(rounds):
            for name, client in clients.items():
                costs[name].append(await _cpu_per_call(partial(_calls, client), requests))
            costs["bare streams"].append(await _cpu_per_call(partial(_bare, port), requests))
    return costs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="http-bench-") as tmp, spawner(Path(tmp)) as spawn:
        server = spawn("server", [sys.executable, "-c", SERVER, "{port}"])
        costs = asyncio.run(measure(server.port, args.requests, args.rounds))
    base = statistics.median(costs["httpcore"])
    print(
        f"CPU per call, {args.rounds} rounds of {args.requests} keep-alive POSTs (median, range):"
    )
    for name, values in costs.items():
        median = statistics.median(values)
        ratios = [v / b for v, b in zip(values, costs["httpcore"], strict=True)]
        print(
            f"  {name:<16} {median:7.1f} µs  ({min(values):.1f}–{max(values):.1f})"
            f"   {median / base:.2f}× httpcore ({min(ratios):.2f}–{max(ratios):.2f})"
        )


if __name__ == "__main__":
    main()
