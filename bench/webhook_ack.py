"""Webhook acknowledgement: ws_bot vs a bare FastAPI endpoint doing the same durable insert.

`uv run python -m bench webhook_ack [--rounds R] [--requests N] [--paced P] [--paced-requests M]
[--burst B] [--concurrency C] [--database-url URL]`

ws_bot's ack verifies the signature, checks the body is a JSON object with an `entry` list,
commits the raw body to its database (SQLite by default) and answers 200; its inbox worker
splits, dedupes and answers the messages afterwards. ws_bot is measured in both layouts, each
with a sandbox phone and a database of its own: `ws_bot`, a ROLE=webhook process beside a
ROLE=worker process (the worker's work runs in another process), and `one proc`, ROLE=all (the
worker on the ack's event loop). The baseline is a bare FastAPI endpoint that commits the body
to SQLite the plain way (stdlib sqlite3 on one thread, WAL, synchronous=FULL, one transaction
per request) and answers 200. None writes an access line for a successful ack at INFO. All are
served by uvicorn with the same options.

Printed, over R rounds alternating the three (median and range of the per-round ratios):
- CPU per ack: the acknowledging process's CPU time (user + system, all threads) over N status
  updates sent one at a time, minus its idle CPU over that time (sampled just before), divided
  by N. Status updates carry no message, so the worker's share is only splitting them: ROLE=all
  is charged for that too; for the split layout the worker process's CPU per update is printed
  beside it. Every run starts once every inbox is empty. CPU time is read from
  /proc/<thread>/schedstat (nanoseconds).
- one-at-a-time p50: the same N status updates, and N text messages from new users, which the
  worker greets through the sandbox phone while the next acks arrive (the phone is told first
  that these users just wrote, so the greetings are delivered, as they would be by Meta, and
  come back as sent and delivered statuses). Back to back, those messages arrive far faster than
  the worker and the phone can answer them on two cores; so also M messages paced at P per
  second (default 100 at 20/s), which the worker keeps up with: the acks beside a worker that
  is answering, without a saturated machine.
- for each layout, a burst of B messages from new users with C in flight: ack p50/p99, acks per
  second, and whether the worker kept answering during the burst (messages handled by the time
  the last ack came back) or left it all to a drain afterwards. Progress is read from that
  layout's database (its SQLite file, or its PostgreSQL database with `--database-url`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil

from bench._stack import percentile, spawner
from sandbox.phone import meta
from tests.support.processes import ServiceProcess
from tests.ws_bot.support import APP_SECRET, PHONE_ID, Stack, open_windows, start_stack

DUMMY = "http://127.0.0.1:9"  # llm_back/op_api are not needed to greet new users
Bodies = list[tuple[bytes, str]]


def _signed(update: dict[str, object]) -> tuple[bytes, str]:
    body = json.dumps(update, separators=(",", ":")).encode()
    return body, meta.sign(body, APP_SECRET)


def message_bodies(count: int) -> Bodies:
    """Text messages from new users (the worker answers each with the language list)."""
    out = []
    for _ in range(count):
        wa_id = str(15550000000 + uuid.uuid4().int % 10**9)
        msg = meta.message(wa_id, f"wamid.bench{uuid.uuid4().hex}", "text", {"body": "hola"})
        out.append(
            _signed(
                meta.message_update(
                    phone_id=PHONE_ID,
                    display_phone="15550001234",
                    wa_id=wa_id,
                    name="B",
                    messages=[msg],
                )
            )
        )
    return out


def status_bodies(count: int) -> Bodies:
    """Delivery receipts, as Meta sends for every message the bot sends."""
    out = []
    for _ in range(count):
        status = {
            "id": f"wamid.sent{uuid.uuid4().hex}",
            "status": "delivered",
            "timestamp": str(int(time.time())),
            "recipient_id": str(15550000000 + uuid.uuid4().int % 10**9),
        }
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001234", "phone_number_id": PHONE_ID},
            "statuses": [status],
        }
        out.append(
            _signed(
                {
                    "object": "whatsapp_business_account",
                    "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
                }
            )
        )
    return out


async def _connection(
    port: int,
    path: str,
    work: Bodies,
    latencies: list[float],
    statuses: list[int],
    interval: float = 0.0,
) -> None:
    """One keep-alive connection sending its share, one request at a time (each `interval`
    seconds after the previous one started, when given).

    A hand-rolled HTTP/1.1 client: httpx's own overhead per request is larger than a bare
    FastAPI endpoint's, and on two cores it would be the client that got measured.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    next_at = time.perf_counter()
    try:
        for body, signature in work:
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            next_at += interval
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
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


def send(
    target: tuple[str, str], bodies: Bodies, concurrency: int, interval: float = 0.0
) -> list[float]:
    """POST every body over `concurrency` connections at once; latencies in ms."""
    url, path = target
    port = int(url.rsplit(":", 1)[1])
    latencies: list[float] = []
    statuses: list[int] = []

    async def run() -> None:
        shares = [bodies[i::concurrency] for i in range(concurrency)]
        await asyncio.gather(
            *(_connection(port, path, share, latencies, statuses, interval) for share in shares)
        )

    asyncio.run(run())
    assert set(statuses) == {200}, set(statuses)
    return latencies


def cpu_seconds(proc: ServiceProcess) -> float:
    """CPU time of the process and its children, every thread, in nanosecond resolution
    (/proc/<tid>/schedstat; psutil's figures move in 10 ms clock ticks)."""
    assert proc.proc is not None
    root = psutil.Process(proc.proc.pid)
    total = 0
    for p in [root, *root.children(recursive=True)]:
        for task in Path(f"/proc/{p.pid}/task").iterdir():
            with contextlib.suppress(OSError):  # a thread that just ended
                total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


IDLE_SAMPLE_SECONDS = 2.0


def one_at_a_time(
    procs: list[ServiceProcess], target: tuple[str, str], bodies: Bodies, interval: float = 0.0
) -> tuple[list[float], float]:
    """(CPU µs per ack of each of `procs`, p50 ms) for `bodies` sent one at a time. Each
    process's idle CPU (timers, the poller's ticks), sampled just before, is subtracted for the
    time the run took."""
    idle_started, idle_cpu = time.perf_counter(), [cpu_seconds(p) for p in procs]
    time.sleep(IDLE_SAMPLE_SECONDS)
    idle_for = time.perf_counter() - idle_started
    idle_rate = [(cpu_seconds(p) - c) / idle_for for p, c in zip(procs, idle_cpu, strict=True)]
    started, before = time.perf_counter(), [cpu_seconds(p) for p in procs]
    latencies = send(target, bodies, 1, interval)
    took = time.perf_counter() - started
    used = [
        cpu_seconds(p) - b - rate * took
        for p, b, rate in zip(procs, before, idle_rate, strict=True)
    ]
    return [u * 1e6 / len(bodies) for u in used], percentile(latencies, 50)


Database = Path | str  # ws_bot's SQLite file, or its PostgreSQL URL


def count_rows(database: Database, table: str, status: str) -> int:
    """Rows of `table` in `status`, read beside ws_bot (WAL readers never block its writer)."""
    sql = f"SELECT count(*) FROM {table} WHERE status = '{status}'"
    if isinstance(database, Path):
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
        with contextlib.closing(db):
            (count,) = db.execute(sql).fetchone()
        return int(count)

    async def read() -> int:
        connection = await asyncpg.connect(database)
        try:
            return int(await connection.fetchval(sql))
        finally:
            await connection.close()

    return asyncio.run(read())


def wait_until_idle(database: Database, timeout: float = 600.0) -> None:
    """Until ws_bot has split every stored body and handled every message (its worker would
    otherwise still be greeting the previous run's users during the next measurement)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not count_rows(database, "ws_webhooks", "pending") and not count_rows(
            database, "ws_inbox", "pending"
        ):
            return
        time.sleep(0.2)
    raise TimeoutError("ws_bot did not finish its inbox")


class Progress:
    """Samples how many inbox rows ws_bot has handled, every 50 ms."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def handled(self) -> int:
        return count_rows(self.database, "ws_inbox", "done")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), self.handled()))
            self._stop.wait(0.05)

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def at(self, moment: float) -> int:
        return max((n for t, n in self.samples if t <= moment), default=0)


def greetable(stack: Stack, bodies: Bodies) -> Bodies:
    """`bodies`, once the sandbox phone knows their senders just wrote: they reach ws_bot without
    passing through it, so it would otherwise hold their 24-hour windows closed and fail every
    greeting with 131047, and the worker would be measured on that failure path (a failed
    status and five fallback lookups per message) instead of a delivered answer."""
    for body, _ in bodies:
        open_windows(stack, body)
    return bodies


def burst(stack: Stack, database: Database, count: int, concurrency: int) -> str:
    bodies = greetable(stack, message_bodies(count))
    start_handled = Progress(database).handled()
    with Progress(database) as progress:
        started = time.perf_counter()
        latencies = send((stack.bot.url, "/webhook"), bodies, concurrency)
        acked = time.perf_counter()
        deadline = acked + 300
        while progress.handled() - start_handled < count and time.perf_counter() < deadline:
            time.sleep(0.05)
        drained = time.perf_counter()
    during = progress.at(acked) - start_handled
    halfway = progress.at(started + (acked - started) / 2) - start_handled
    rest = max(drained - acked, 1e-9)
    return (
        f"acks p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
        f"{count / (acked - started):.0f} acks/s over {acked - started:.1f} s\n"
        f"      handled by the worker: {halfway} halfway through the burst, {during} when the "
        f"last ack returned ({during / count:.0%}; {during / (acked - started):.1f}/s during "
        f"the burst), all {count} {rest:.1f} s after it ({(count - during) / rest:.1f}/s after)"
    )


@dataclass
class Server:
    """One measured server: the process that acknowledges, and (for ws_bot) its stack."""

    proc: ServiceProcess
    path: str
    stack: Stack | None = None
    database: Database | None = None

    @property
    def target(self) -> tuple[str, str]:
        return self.proc.url, self.path


def _spread(values: list[float], unit: str = "") -> str:
    return f"{statistics.median(values):.2f}{unit} (range {min(values):.2f}-{max(values):.2f})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--paced", type=float, default=20.0, help="messages/s, paced run")
    parser.add_argument("--paced-requests", type=int, default=100)
    parser.add_argument("--burst", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server for ws_bot (each layout gets a database of its own there; "
        "default: its SQLite file); the baseline stays on SQLite",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    with (
        contextlib.ExitStack() as dropped,  # left last: after the services have stopped
        tempfile.TemporaryDirectory(prefix="ack-bench-") as tmp,
        spawner(Path(tmp)) as spawn,
    ):
        bare = spawn(
            "bare", [sys.executable, "-m", "bench._bare_app", "{port}", f"{tmp}/bare.sqlite3"]
        )
        servers = {"baseline": Server(bare, "/webhook-durable")}
        for name, split in (("ws_bot", True), ("one proc", False)):
            stack = start_stack(
                spawn,
                llm_url=DUMMY,
                op_url=DUMMY,
                wallet_base=DUMMY,
                # The tests' 0.2 s poller tick is for fast tests; a deployment ticks every second.
                extra_env={"POLLER_TICK_SECONDS": "1.0"},
                database_url=(
                    dropped.enter_context(_own_database(args.database_url))
                    if args.database_url
                    else None
                ),
                worker_process=split,
            )
            database: Database = (
                stack.bot_env["DATABASE_URL"]
                if args.database_url
                else Path(stack.bot.env["DATA_DIR"]) / "ws_bot.sqlite3"
            )
            servers[name] = Server(stack.bot, "/webhook", stack, database)
        databases = [server.database for server in servers.values() if server.database]

        def idle() -> None:
            for database in databases:
                wait_until_idle(database)

        for server in servers.values():  # warm-up: imports, caches, the database file
            bodies = message_bodies(50)
            if server.stack is not None:
                greetable(server.stack, bodies)
            send(server.target, bodies, 4)
        idle()
        paced = f"message, {args.paced:g}/s"
        # (bodies, how many, seconds between starts): back to back, the messages arrive far
        # faster than the worker and the phone can answer them on two cores, so the acks are
        # measured beside a saturated machine; paced, beside a worker that keeps up.
        kinds: dict[str, tuple[Callable[[int], Bodies], int, float]] = {
            "status": (status_bodies, args.requests, 0.0),
            "message": (message_bodies, args.requests, 0.0),
            paced: (message_bodies, args.paced_requests, 1 / args.paced),
        }
        cpu: dict[str, list[float]] = {name: [] for name in servers}
        splitting: list[float] = []  # the worker process's CPU per status update (ws_bot)
        p50: dict[tuple[str, str], list[float]] = {
            (name, kind): [] for name in servers for kind in kinds
        }
        for _ in range(args.rounds):
            for name, server in servers.items():
                for kind, (make, count, interval) in kinds.items():
                    idle()
                    bodies = make(count)
                    if make is message_bodies and server.stack is not None:
                        greetable(server.stack, bodies)
                    worker = server.stack.worker if server.stack else None
                    procs = [server.proc, *([worker] if worker else [])]
                    cpu_us, median = one_at_a_time(procs, server.target, bodies, interval)
                    p50[(name, kind)].append(median)
                    if kind == "status":
                        cpu[name].append(cpu_us[0])
                        splitting += cpu_us[1:]
        bursts = {}
        for name, server in servers.items():
            if server.stack is not None and server.database is not None:
                idle()
                bursts[name] = burst(server.stack, server.database, args.burst, args.concurrency)
    print(
        f"webhook ack: {args.rounds} alternating rounds of {args.requests} requests one at a time"
        " (ws_bot: ROLE=webhook beside a ROLE=worker process; one proc: ROLE=all)"
    )
    for name in servers:
        medians = ", ".join(f"{kind} {_spread(p50[(name, kind)], ' ms')}" for kind in kinds)
        print(f"  {name:8s} CPU per ack {_spread(cpu[name], ' µs')}; p50 {medians}")
    print(f"  ws_bot's worker process, CPU per status update it split: {_spread(splitting, ' µs')}")
    for name in bursts:
        base = cpu["baseline"]
        cpu_ratio = [w / b for w, b in zip(cpu[name], base, strict=True)]
        print(f"  ratio {name} / baseline, CPU per ack: {_spread(cpu_ratio, '×')} (aim ≤ 1.5×)")
        for kind in kinds:
            ratio = [w / b for w, b in zip(p50[(name, kind)], p50[("baseline", kind)], strict=True)]
            print(f"  ratio {name} / baseline, one-at-a-time p50 ({kind}): {_spread(ratio, '×')}")
    for name, line in bursts.items():
        print(f"  {name}: burst of {args.burst} messages, {args.concurrency} in flight: {line}")


@contextlib.contextmanager
def _own_database(url: str) -> Iterator[str]:
    """A PostgreSQL database of its own beside `url`'s, for one ws_bot layout; dropped after."""
    admin = url.replace("+asyncpg", "")
    name = f"ack_bench_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main(sys.argv[1:])
