"""Webhook acknowledgement latency under a burst: ws_bot vs a bare FastAPI endpoint, one run.

`uv run python -m bench webhook_ack [--messages N] [--concurrency C]`

Meta wants a 2xx within seconds and retries otherwise, so what matters is how long ws_bot takes
to verify the signature, store the update durably (SQLite by default) and answer, while its
worker is busy answering the previous messages. The baseline is the floor: a FastAPI endpoint
that reads the body and answers 200, served by uvicorn with the same options. Both get the same
burst of signed updates from new users (ws_bot answers each with the language list through the
sandbox phone). Rounds alternate (bare, ws_bot, bare, ws_bot) so both see the same machine.
Printed: p50 and p99 of each, and the ratios ws_bot / bare (aim ≤ 1.5×).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench._stack import bare_app, percentile, spawner
from sandbox.phone import meta
from tests.ws_bot.support import APP_SECRET, PHONE_ID, start_stack

DUMMY = "http://127.0.0.1:9"  # llm_back/op_api are not needed to greet new users


def _bodies(count: int) -> list[tuple[bytes, str]]:
    out = []
    for _ in range(count):
        wa_id = str(15550000000 + uuid.uuid4().int % 10**9)
        msg = meta.message(wa_id, f"wamid.bench{uuid.uuid4().hex}", "text", {"body": "hola"})
        update = meta.message_update(
            phone_id=PHONE_ID, display_phone="15550001234", wa_id=wa_id, name="B", messages=[msg]
        )
        body = json.dumps(update, separators=(",", ":")).encode()
        out.append((body, meta.sign(body, APP_SECRET)))
    return out


async def _connection(
    port: int, work: list[tuple[bytes, str]], latencies: list[float], statuses: list[int]
) -> None:
    """One keep-alive connection sending its share of the burst, one request at a time.

    A hand-rolled HTTP/1.1 client: httpx's own overhead per request is larger than a bare
    FastAPI endpoint's, and on two cores it would be the client that got measured.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for body, signature in work:
            head = (
                f"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Content-Type: application/json\r\nX-Hub-Signature-256: {signature}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            started = time.perf_counter()
            writer.write(head + body)
            await writer.drain()
            status_line, _, rest = (await reader.readuntil(b"\r\n\r\n")).partition(b"\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in rest.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses.append(int(status_line.split()[1]))
    finally:
        writer.close()


async def burst(url: str, count: int, concurrency: int) -> list[float]:
    """`count` signed updates over `concurrency` connections at once; latencies in ms."""
    bodies = _bodies(count)
    port = int(url.rsplit(":", 1)[1])
    latencies: list[float] = []
    statuses: list[int] = []
    shares = [bodies[i::concurrency] for i in range(concurrency)]
    await asyncio.gather(*(_connection(port, share, latencies, statuses) for share in shares))
    assert set(statuses) == {200}, set(statuses)
    return latencies


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--database-url", default=None, help="ws_bot's DATABASE_URL (default: its SQLite file)"
    )
    args = parser.parse_args(argv or [])
    with tempfile.TemporaryDirectory(prefix="ack-bench-") as tmp, spawner(Path(tmp)) as spawn:
        bare = bare_app(spawn)
        stack = start_stack(
            spawn, llm_url=DUMMY, op_url=DUMMY, wallet_base=DUMMY, database_url=args.database_url
        )
        targets = {"bare": bare.url, "ws_bot": stack.bot.url}
        results: dict[str, list[float]] = {name: [] for name in targets}
        for url in targets.values():  # warm-up: imports, caches, the database file
            asyncio.run(burst(url, 30, args.concurrency))
        for _ in range(args.rounds):
            for name, url in targets.items():
                results[name] += asyncio.run(burst(url, args.messages, args.concurrency))
                time.sleep(1.0)  # let ws_bot's worker drain between rounds
    print(
        f"webhook ack latency, {args.rounds}×{args.messages} signed updates, "
        f"{args.concurrency} in flight"
    )
    p = {n: (percentile(v, 50), percentile(v, 99)) for n, v in results.items()}
    for name, (p50, p99) in p.items():
        print(f"  {name:7s} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")
    print(
        f"  ratio ws_bot / bare: p50 {p['ws_bot'][0] / p['bare'][0]:.2f}×  "
        f"p99 {p['ws_bot'][1] / p['bare'][1]:.2f}×  (aim ≤ 1.5×)"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
