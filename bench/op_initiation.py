"""Payment initiation: op_api vs the official Node client, against one sandbox wallet, in one run.

`uv run python bench/op_initiation.py [--iterations N]`

The Node client (tests/node/bench-initiation.mjs) takes the seven steps one after another, as
its documentation does. op_api runs independent steps concurrently (see op_api.initiation):
wallets together, both non-interactive grants together, then the incoming payment, then the
quote together with the outgoing-payment grant. Printed: median latencies, the number of
sequential round trips on the critical path (measured from request timings for op_api), and
the ratio op_api / Node (aim ≤ 0.7).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make `op_api`'s test helpers importable

from bench.op_wan_proxy import LatencyProxy  # noqa: E402
from op_api.client import OpenPaymentsClient  # noqa: E402
from op_api.deps import Deps  # noqa: E402
from op_api.initiation import send_payment  # noqa: E402
from op_api.platform import signing_key  # noqa: E402
from op_api.settings import Settings  # noqa: E402
from op_api.store import PaymentStore  # noqa: E402
from shared.contracts import SendPaymentRequest  # noqa: E402
from shared.db import create_engine  # noqa: E402
from tests.op_api.harness import OpApi, Wallet, start_wallet, wallet_env  # noqa: E402
from tests.support.node import NODE_DIR, ensure_node_packages  # noqa: E402
from tests.support.processes import ServiceProcess, console_script, free_port, service_env  # noqa: E402

AMOUNT = "1.00"


class TimingTransport(httpx.AsyncBaseTransport):
    """Records (start, end) of every request, to measure the critical path afterwards."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.spans: list[tuple[float, float]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        response = await self.inner.handle_async_request(request)
        await response.aread()
        self.spans.append((started, time.perf_counter()))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def critical_path(spans: list[tuple[float, float]]) -> int:
    """Longest chain of requests where each starts after the previous one ended."""
    ordered = sorted(spans)
    depth: list[int] = []
    for start, _ in ordered:
        before = [d for (_, end), d in zip(ordered, depth, strict=False) if end <= start]
        depth.append(1 + max(before, default=0))
    return max(depth, default=0)


def run_node(wallet: Wallet, iterations: int, validate: bool) -> list[float]:
    ensure_node_packages()
    env = wallet_env(wallet)
    done = subprocess.run(
        [
            "node",
            str(NODE_DIR / "bench-initiation.mjs"),
            env["WALLET_ADDRESS_URL"],
            env["KEY_ID"],
            env["PRIVATE_KEY_PATH"],
            wallet.address("alice"),
            wallet.address("bob"),
            AMOUNT.replace(".", ""),
            str(iterations),
            "validate" if validate else "",
        ],
        capture_output=True,
        check=True,
        timeout=600,
    )
    samples: list[float] = json.loads(done.stdout)["samplesMs"]
    return samples


def run_service(api: OpApi, wallet: Wallet, iterations: int) -> list[float]:
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        response = api.send(wallet.address("alice"), wallet.address("bob"), AMOUNT)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 201, response.text
        api.http.delete(f"/payments/{response.json()['paymentId']}")
    return samples


async def run_in_process(
    wallet: Wallet, data_dir: Path, iterations: int
) -> tuple[list[float], list[int]]:
    env = wallet_env(wallet)
    settings = Settings(
        internal_api_token="bench-token-0123456789",
        wallet_address_url=env["WALLET_ADDRESS_URL"],
        key_id=env["KEY_ID"],
        private_key_path=Path(env["PRIVATE_KEY_PATH"]),
        allow_insecure_http=True,
        data_dir=data_dir,
    )
    engine = create_engine(None, settings.sqlite_path)
    store = PaymentStore(engine, "bench_")
    await store.create_schema()
    samples, depths = [], []
    transport = TimingTransport()  # one connection pool for all runs, as a service keeps
    client = OpenPaymentsClient(
        settings.wallet_address_url,
        signing_key(settings),
        http_client=httpx.AsyncClient(transport=transport),
        allow_insecure_http=True,
    )
    deps = Deps(settings=settings, client=client, store=store)
    for _ in range(iterations):
        transport.spans.clear()
        request = SendPaymentRequest(
            sender_wallet_url=wallet.address("alice"),
            receiver_wallet_url=wallet.address("bob"),
            amount=AMOUNT,
        )
        started = time.perf_counter()
        record, _ = await send_payment(deps, request)
        samples.append((time.perf_counter() - started) * 1000)
        depths.append(critical_path(transport.spans))
        assert record.continue_uri
        assert record.continue_token
        await client.grant.cancel(record.continue_uri, record.continue_token)
    await client.http.client.aclose()
    await engine.dispose()
    return samples, depths


def _summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"{statistics.median(samples):7.1f} ms  (p90 {p90:6.1f} ms)"


@dataclass
class Result:
    rtt_ms: float
    node: list[float]
    inproc: list[float]
    service: list[float]
    depth: int


def measure(base: Path, rtt_ms: float, iterations: int, node_validate: bool) -> Result:
    """One sandbox wallet (behind a latency proxy when `rtt_ms` > 0), op_api, and Node."""
    proxy_port = free_port()
    extra = ["--public-url", f"http://127.0.0.1:{proxy_port}"] if rtt_ms else []
    wallet_proc, direct = start_wallet(base / "wallet", *extra)
    wallet = direct
    if rtt_ms:
        LatencyProxy(proxy_port, wallet_proc.port, rtt_ms).start()
        wallet = Wallet(f"http://127.0.0.1:{proxy_port}", direct.data_dir)
    api_proc = ServiceProcess(
        name="op_api",
        args=[console_script("op-api")],
        port=free_port(),
        log_path=base / "op_api.log",
        env=service_env({**wallet_env(wallet), "DATA_DIR": str(base / "op_api")}),
    )
    api_proc.env["PORT"] = str(api_proc.port)
    try:
        api = OpApi(api_proc.start())
        # Warm-up (connections, JWKS caches in the sandbox, imports); not counted.
        run_node(wallet, 2, node_validate)
        run_service(api, wallet, 2)
        asyncio.run(run_in_process(wallet, base / "inproc", 2))
        node = run_node(wallet, iterations, node_validate)
        service = run_service(api, wallet, iterations)
        inproc, depths = asyncio.run(run_in_process(wallet, base / "inproc", iterations))
    finally:
        api_proc.stop()
        wallet_proc.stop()
    return Result(rtt_ms, node, inproc, service, statistics.mode(depths))


def report(result: Result) -> None:
    node_median = statistics.median(result.node)
    ratio_client = statistics.median(result.inproc) / node_median
    ratio_service = statistics.median(result.service) / node_median
    where = f"{result.rtt_ms:g} ms RTT to the wallet" if result.rtt_ms else "loopback, no added RTT"
    print(f"\nWallet provider at {where}; {len(result.node)} initiations each (median, p90):")
    print(f"  official Node client, 7 steps in sequence : {_summary(result.node)}  round trips 7")
    print(
        f"  op_api client, independent steps together : {_summary(result.inproc)}"
        f"  round trips {result.depth} (measured)"
    )
    print(f"  op_api service, POST /send-payment        : {_summary(result.service)}")
    print(f"  ratio op_api client  / Node client: {ratio_client:.2f}")
    print(f"  ratio op_api service / Node client: {ratio_service:.2f}  (aim ≤ 0.70)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument(
        "--rtt-ms",
        type=float,
        default=20.0,
        help="round-trip time to simulate to the wallet provider (default 20; 0 = loopback)",
    )
    parser.add_argument(
        "--node-validate",
        action="store_true",
        help="let the Node client validate responses against the OpenAPI specs (its default); "
        "off by default, which favours Node",
    )
    args = parser.parse_args()
    scenarios = sorted({0.0, args.rtt_ms})
    print(__doc__.split("\n")[0])
    for rtt in scenarios:
        with tempfile.TemporaryDirectory(prefix="op-bench-") as tmp:
            report(measure(Path(tmp), rtt, args.iterations, args.node_validate))


if __name__ == "__main__":
    main()
