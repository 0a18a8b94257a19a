"""Following many pending payments: the request rate between ws_bot and op_api (issue 12).

N payments are created at op_api (real sandbox wallet, left awaiting approval) and seeded into
a ws_bot's table as confirmed; then ws_bot follows them for a while, once with one long poll
(`POST /payments/watch`, the default) and once polling `/confirm-payment` per payment (the
fallback, `OP_WATCH=false`, with the production pause schedule: 2 s growing to 30 s). Printed:
op_api requests per second by route in each mode, counted by op_api's own /metrics.

    uv run python -m bench.payment_following [--payments 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from bench._stack import Spawn, spawner
from tests.op_api.harness import start_wallet, wallet_env
from tests.support.processes import TEST_TOKEN, console_script
from tests.ws_bot.support import metric, start_stack
from ws_bot import payment_store
from ws_bot import store as st

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}
ROUTES = ("/payments/watch", "/confirm-payment")
PRODUCTION_POLLING = {
    "POLL_INITIAL_SECONDS": "2",
    "POLL_MAX_SECONDS": "30",
    "POLLER_TICK_SECONDS": "1",
    "POLL_LEASE_SECONDS": "60",
    "POLL_DEADLINE_SECONDS": "3600",
}


async def create_payments(op_url: str, wallet_url: str, count: int) -> list[str]:
    limit = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=op_url, headers=AUTH, timeout=60) as http:

        async def one(i: int) -> str:
            body = {
                "senderWalletUrl": f"{wallet_url}/alice",
                "receiverWalletUrl": f"{wallet_url}/bob",
                "amount": f"0.{i % 90 + 10}",
                "idempotencyKey": f"bench-follow-{i}",
            }
            async with limit:
                response = await http.post("/send-payment", json=body)
            response.raise_for_status()
            return str(response.json()["paymentId"])

        return list(await asyncio.gather(*(one(i) for i in range(count))))


async def seed(sqlite_path: Path, payment_ids: list[str]) -> None:
    """ws_bot's rows for payments the users confirmed (as `confirming` writes them)."""
    store = await st.Store.open(None, sqlite_path)
    await store.create()
    now = time.time()
    for payment_id in payment_ids:
        await store.payments.add(
            payment_store.Payment(
                payment_id=payment_id,
                wa_id="15550001111",
                draft_id=payment_id,
                status="awaiting_approval",
                recipient_label="Bob",
                receiver_wallet="",
                receiver_wa_id=None,
                debit=None,
                receive=None,
                react_message_id=None,
                deadline=now + 3600,
                next_poll_at=now,
                attempts=0,
                notified=False,
                created_at=now,
            )
        )
    await store.close()


def follow(
    spawn: Spawn,
    base: Path,
    op_url: str,
    wallet_url: str,
    ids: list[str],
    *,
    watch: bool,
    seconds: float,
) -> dict[str, float]:
    """Requests per second at op_api, by route, while one ws_bot follows `ids`."""
    mode = "watch" if watch else "confirm"
    data_dir = base / f"ws_bot_{mode}"
    asyncio.run(seed(data_dir / "ws_bot.sqlite3", ids))
    env = {**PRODUCTION_POLLING, "OP_WATCH": str(watch).lower(), "DATA_DIR": str(data_dir)}
    env["REPLICA_ID"] = f"bench-{mode}"
    stack = start_stack(spawn, llm_url=op_url, op_url=op_url, wallet_base=wallet_url, extra_env=env)
    time.sleep(5)  # claims and the first round
    before = {route: _count(op_url, route) for route in ROUTES}
    time.sleep(seconds)
    after = {route: _count(op_url, route) for route in ROUTES}
    stack.bot.stop()
    stack.phone_proc.stop()
    return {route: (after[route] - before[route]) / seconds for route in ROUTES}


def _count(op_url: str, route: str) -> float:
    return metric(op_url, f'paguito_http_requests_total{{method="POST",route="{route}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, spawner(Path(tmp)) as spawn:
        base = Path(tmp)
        wallet_proc, wallet = start_wallet(base / "wallet")
        try:
            env = {**wallet_env(wallet), "PAYMENT_EXPIRY_SECONDS": "3600"}
            op = spawn("op_api", [console_script("op-api")], env)
            started = time.perf_counter()
            ids = asyncio.run(create_payments(op.url, wallet.url, args.payments))
            took = time.perf_counter() - started
            print(f"{args.payments} pending payments created in {took:.1f}s")
            for watch in (True, False):
                rates = follow(
                    spawn, base, op.url, wallet.url, ids, watch=watch, seconds=args.seconds
                )
                label = "one long poll (watch)" if watch else "per payment (/confirm-payment)"
                shown = ", ".join(f"{route} {rate:.2f}/s" for route, rate in rates.items())
                print(f"{label:32} {shown}", flush=True)
        finally:
            wallet_proc.stop()


if __name__ == "__main__":
    main()
