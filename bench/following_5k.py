"""5,000 pending payments on one ws_bot replica (issue 12): lag, starvation, requests, CPU.

One op_api and one ws_bot follow N pending payments (default 5,000). A few are real payments
created through the sandbox wallet and left awaiting approval; the rest are copies of one of
them written straight into op_api's table (creating 5,000 through the wallet takes ~12 minutes
here), each under its own id, with its grant's next poll an hour away. ws_bot's table gets a
row per payment as `confirming` writes it. Then, in each mode, for `--seconds`:

- a sample of the real payments is cancelled at op_api at known times (a real transition,
  the one a wallet settling goes through), and the lag is the time from sending the cancel to
  ws_bot recording the final status (`ws_payments.updated_at`; the receipt is sent right after);
- ws_bot's table is read every 0.25 s: in watch mode every pending payment must be leased to
  the replica (so it is in the long poll op_api holds and re-reads every second); in
  per-payment mode none may be more than 1 s past its next poll;
- requests between ws_bot and op_api (op_api's /metrics) and CPU seconds of both processes
  (psutil: user + system) are counted.

The baseline is ws_bot's per-payment mode (`OP_WATCH=false`): `/confirm-payment` per payment at
the old cadence (2 s growing to 30 s), run in the same process right after the watch mode.

    uv run python -m bench.following_5k [--payments 5000] [--sample 20] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from bench._stack import Spawn, percentile, spawner
from bench.payment_following import AUTH, PRODUCTION_POLLING, ROUTES, _count, create_payments, seed
from tests.op_api.harness import start_wallet, wallet_env
from tests.support.processes import ServiceProcess, console_script
from tests.ws_bot.support import start_stack

REPLICA = "bench-5k"
QUIET = 10.0  # seconds op_api's CPU is measured with no ws_bot
LATE = 1.0  # a payment checked more than this past its interval is starved


@dataclass
class Mode:
    label: str
    route: str  # the route this mode asks op_api (the other one only sees the previous mode's
    # last long poll end)
    warmup: float  # seconds until every payment was followed (watch) or the window opened
    rate: float  # requests per second on `route`
    cpu_bot: float
    cpu_op: float
    lags: list[float]
    unrecorded: int
    starved_max: int  # most payments starved at one sample
    worst_overdue: float  # longest any pending payment went past its interval


def clone(op_db: Path, template_id: str, count: int) -> list[str]:
    """`count` copies of a real pending payment in op_api's table, each under its own id."""
    conn = sqlite3.connect(op_db, timeout=30)
    conn.row_factory = sqlite3.Row
    row = dict(conn.execute("SELECT * FROM op_payments WHERE id = ?", (template_id,)).fetchone())
    ids = [str(uuid.uuid4()) for _ in range(count)]
    columns = list(row)
    rows = []
    for payment_id in ids:
        copy = {**row, "id": payment_id, "idempotency_key": None}
        copy["next_poll_at"] = row["expires_at"]  # op_api does not poll the shared grant
        rows.append([copy[c] for c in columns])
    marks = ", ".join("?" for _ in columns)
    with conn:
        conn.executemany(f"INSERT INTO op_payments ({', '.join(columns)}) VALUES ({marks})", rows)
    conn.close()
    return ids


def _bot_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def starved(conn: sqlite3.Connection, watch: bool) -> tuple[int, float]:
    """How many pending payments are not followed now, and the longest any of them has been."""
    now = time.time()
    if watch:
        # Followed = leased to this replica: in the long poll held at op_api.
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM ws_payments WHERE notified = 0"
            " AND NOT (COALESCE(lease_owner, '') = ? AND COALESCE(lease_until, 0) > ?)",
            (REPLICA, now),
        ).fetchone()
        return int(count), 0.0
    # Being polled = leased; otherwise due at next_poll_at.
    count, oldest = conn.execute(
        "SELECT COUNT(*), MIN(next_poll_at) FROM ws_payments WHERE notified = 0"
        " AND (lease_until IS NULL OR lease_until < ?) AND next_poll_at < ?",
        (now, now - LATE),
    ).fetchone()
    return int(count), (now - oldest if oldest is not None else 0.0)


def _cpu(proc: ServiceProcess) -> float:
    assert proc.proc is not None
    times = psutil.Process(proc.proc.pid).cpu_times()
    return float(times.user + times.system)


def follow(
    spawn: Spawn,
    base: Path,
    op: ServiceProcess,
    wallet_url: str,
    ids: list[str],
    sample: list[str],
    *,
    watch: bool,
    seconds: float,
) -> Mode:
    mode = "watch" if watch else "confirm"
    data_dir = base / f"ws_bot_{mode}"
    bot_db = data_dir / "ws_bot.sqlite3"
    asyncio.run(seed(bot_db, ids))
    env = {**PRODUCTION_POLLING, "OP_WATCH": str(watch).lower(), "DATA_DIR": str(data_dir)}
    env["REPLICA_ID"] = REPLICA
    started = time.time()
    stack = start_stack(spawn, llm_url=op.url, op_url=op.url, wallet_base=wallet_url, extra_env=env)
    conn = _bot_db(bot_db)
    try:
        if watch:  # until every payment is followed (at most a minute)
            while time.time() - started < 60 and starved(conn, True)[0] > 0:
                time.sleep(0.25)
        else:
            time.sleep(10)  # the first rounds of polls
        warmup = time.time() - started
        route = ROUTES[0] if watch else ROUTES[1]
        before = _count(op.url, route)
        cpu_bot, cpu_op = _cpu(stack.bot), _cpu(op)
        window = time.time()
        due = [window + (k + 0.5) * seconds / len(sample) for k in range(len(sample))]
        sent: dict[str, float] = {}
        worst, overdue = 0, 0.0
        with httpx.Client(base_url=op.url, headers=AUTH, timeout=30) as http:
            while time.time() < window + seconds:
                if due and time.time() >= due[0]:
                    payment_id = sample[len(sent)]
                    due.pop(0)
                    sent[payment_id] = time.time()
                    http.delete(f"/payments/{payment_id}").raise_for_status()
                count, late = starved(conn, watch)
                worst, overdue = max(worst, count), max(overdue, late)
                time.sleep(0.25)
        took = time.time() - window
        after = _count(op.url, route)
        cpu_bot, cpu_op = _cpu(stack.bot) - cpu_bot, _cpu(op) - cpu_op
        recorded: dict[str, float] = {}
        give_up = time.time() + 40
        while len(recorded) < len(sent) and time.time() < give_up:
            marks = ", ".join("?" for _ in sent)
            recorded = dict(
                conn.execute(
                    "SELECT payment_id, updated_at FROM ws_payments"
                    f" WHERE notified = 1 AND payment_id IN ({marks})",
                    list(sent),
                ).fetchall()
            )
            time.sleep(0.25)
    finally:
        conn.close()
        stack.bot.stop()
        stack.phone_proc.stop()
    return Mode(
        label="one long poll (watch)" if watch else "per payment (/confirm-payment)",
        route=route,
        warmup=warmup,
        rate=(after - before) / took,
        cpu_bot=cpu_bot,
        cpu_op=cpu_op,
        lags=[recorded[p] - sent[p] for p in recorded],
        unrecorded=len(sent) - len(recorded),
        starved_max=worst,
        worst_overdue=overdue,
    )


def report(result: Mode, seconds: float, pending: int) -> None:
    lags = result.lags
    lag = (
        f"lag p50 {percentile(lags, 50):.2f}s p95 {percentile(lags, 95):.2f}s max {max(lags):.2f}s"
        if lags
        else "lag: none recorded"
    )
    print(
        f"{result.label:32} ready after {result.warmup:.1f}s; {result.route} {result.rate:.2f}/s;"
        f" {lag}"
        + (f", {result.unrecorded} not recorded within 40 s" if result.unrecorded else "")
        + f"; CPU over {seconds:.0f}s: ws_bot {result.cpu_bot:.1f}s, op_api {result.cpu_op:.1f}s;"
        f" not followed at worst {result.starved_max}/{pending}"
        + (f" (longest overdue {result.worst_overdue:.0f}s)" if result.worst_overdue else ""),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=5000)
    parser.add_argument("--sample", type=int, default=20, help="payments finished per mode")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, spawner(Path(tmp)) as spawn:
        base = Path(tmp)
        wallet_proc, wallet = start_wallet(base / "wallet")
        try:
            env = {**wallet_env(wallet), "PAYMENT_EXPIRY_SECONDS": "3600"}
            op = spawn("op_api", [console_script("op-api")], env)
            started = time.perf_counter()
            real = asyncio.run(create_payments(op.url, wallet.url, args.sample * 2 + 1))
            (op_db,) = (base / "op_api" / "data").glob("*.sqlite3")
            copies = clone(op_db, real[-1], args.payments - len(real))
            ids = real + copies
            print(
                f"{len(ids)} pending payments: {len(real)} created through the wallet,"
                f" {len(copies)} copied straight into op_api's table"
                f" ({time.perf_counter() - started:.1f}s)",
                flush=True,
            )
            # op_api's own work for N pending payments (sweeps, the real ones' grant polls):
            # what it spends below is that plus following them for ws_bot.
            cpu = _cpu(op)
            time.sleep(QUIET)
            quiet = (_cpu(op) - cpu) * args.seconds / QUIET
            print(
                f"op_api with nobody following: {quiet:.1f} CPU s per {args.seconds:.0f}s",
                flush=True,
            )
            results = [
                follow(
                    spawn,
                    base,
                    op,
                    wallet.url,
                    ids,
                    real[i * args.sample : (i + 1) * args.sample],
                    watch=watch,
                    seconds=args.seconds,
                )
                for i, watch in enumerate((True, False))
            ]
        finally:
            wallet_proc.stop()
    for result in results:
        report(result, args.seconds, len(ids))
    watched, polled = results
    ratio = polled.rate / max(watched.rate, 1e-9)
    print(
        f"per payment / watch: {ratio:.0f}x the requests,"
        f" ws_bot CPU {polled.cpu_bot / max(watched.cpu_bot, 1e-9):.1f}x,"
        f" op_api CPU {polled.cpu_op / max(watched.cpu_op, 1e-9):.1f}x;"
        f" the old cadence alone would ask {len(ids) / 30:.0f} req/s at its 30 s ceiling",
        flush=True,
    )


if __name__ == "__main__":
    main()
