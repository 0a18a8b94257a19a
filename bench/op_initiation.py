"""Payment initiation: op_api vs the official Node client, against one sandbox wallet, in one run.

`uv run python bench/op_initiation.py [--iterations N] [--rtt-ms 0,20,50]`

The Node client (tests/node/bench-initiation.mjs) takes the seven steps one after another, as
its documentation does. op_api runs independent steps concurrently (see op_api.initiation):
wallets together, both non-interactive grants together, then the incoming payment, then the
quote together with the outgoing-payment grant; and a running service also reuses wallet
documents and non-interactive grants from earlier payments (cold: first payment; warm: later
ones). Runs are interleaved (Node, op_api client,
op_api service, Node, …) so all three see the same machine load. Printed: median latencies, the
sequential round trips on the critical path (measured from request timings for op_api), and the
ratio op_api / Node (aim ≤ 0.7), on loopback and with simulated network round-trip times.

On loopback a round trip costs only the sandbox's CPU, which serializes concurrent requests, so
concurrency gains little there; over a network each saved round trip saves a full RTT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make the test helpers importable

from bench.op_wan_proxy import LatencyProxy  # noqa: E402
from op_api.client import OpenPaymentsClient  # noqa: E402
from op_api.deps import Deps  # noqa: E402
from op_api.initiation import send_payment  # noqa: E402
from op_api.platform import signing_key  # noqa: E402
from op_api.sealing import TokenSealer  # noqa: E402
from op_api.settings import Settings  # noqa: E402
from op_api.store import PaymentStore  # noqa: E402
from shared.contracts import SendPaymentRequest  # noqa: E402
from tests.op_api.harness import Wallet, start_wallet, wallet_env  # noqa: E402
from tests.support.node import NODE_DIR, ensure_node_packages  # noqa: E402
from tests.support.processes import (  # noqa: E402
    TEST_TOKEN,
    ServiceProcess,
    console_script,
    free_port,
    service_env,
)

AMOUNT = "1.00"
WARM_UP = 2


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


class NodeRunner:
    """The official client in one long-lived Node process: one initiation per stdin line."""

    def __init__(self, wallet: Wallet, validate: bool) -> None:
        self.wallet = wallet
        self.validate = validate
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        ensure_node_packages()
        env = wallet_env(self.wallet)
        self.proc = await asyncio.create_subprocess_exec(
            "node",
            str(NODE_DIR / "bench-initiation.mjs"),
            env["WALLET_ADDRESS_URL"],
            env["KEY_ID"],
            env["PRIVATE_KEY_PATH"],
            self.wallet.address("alice"),
            self.wallet.address("bob"),
            AMOUNT.replace(".", ""),
            "validate" if self.validate else "",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )

    async def once(self) -> float:
        assert self.proc is not None
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(b"go\n")
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), 60)
        if not line:
            raise RuntimeError("the Node client stopped")
        ms: float = json.loads(line)["ms"]
        return ms

    async def stop(self) -> None:
        if self.proc is not None and self.proc.stdin:
            self.proc.stdin.close()
            await self.proc.wait()


class InProcess:
    """op_api's initiation code called directly, with request timings recorded."""

    def __init__(self, wallet: Wallet, data_dir: Path) -> None:
        env = wallet_env(wallet)
        self.wallet = wallet
        self.settings = Settings(
            internal_api_token="bench-token-0123456789",
            wallet_address_url=env["WALLET_ADDRESS_URL"],
            key_id=env["KEY_ID"],
            private_key_path=Path(env["PRIVATE_KEY_PATH"]),
            allow_insecure_http=True,
            data_dir=data_dir,
        )
        self.transport = TimingTransport()  # one connection pool for all runs, as a service
        self.client = OpenPaymentsClient(
            self.settings.wallet_address_url,
            signing_key(self.settings),
            http_client=httpx.AsyncClient(transport=self.transport),
            allow_insecure_http=True,
        )
        self.store: PaymentStore

    async def open(self) -> None:
        self.store = await PaymentStore.open(
            None, self.settings.sqlite_path, "bench_", sealer=TokenSealer.from_secret("bench")
        )
        await self.store.create_schema()

    async def once(self) -> tuple[float, int, int]:
        """A cold initiation: fresh caches, so every step goes to the wallet."""
        self.transport.spans.clear()
        deps = Deps(settings=self.settings, client=self.client, store=self.store)
        request = SendPaymentRequest(
            sender_wallet_url=self.wallet.address("alice"),
            receiver_wallet_url=self.wallet.address("bob"),
            amount=AMOUNT,
        )
        started = time.perf_counter()
        record, _ = await send_payment(deps, request)
        elapsed = (time.perf_counter() - started) * 1000
        depth, requests = critical_path(self.transport.spans), len(self.transport.spans)
        assert record.continue_uri
        assert record.continue_token
        await self.client.grant.cancel(record.continue_uri, record.continue_token)
        return elapsed, depth, requests

    async def close(self) -> None:
        await self.client.http.client.aclose()
        await self.store.close()


async def _exchanges(http: httpx.AsyncClient, wallet: Wallet) -> list[dict[str, str]]:
    response = await http.get(f"{wallet.url}/admin/exchanges")
    exchanges: list[dict[str, str]] = response.json()["exchanges"]
    return exchanges


async def service_once(http: httpx.AsyncClient, wallet: Wallet) -> tuple[float, int]:
    """A warm initiation through the running service (its caches filled by earlier payments)."""
    seen = len(await _exchanges(http, wallet))
    body = {
        "senderWalletUrl": wallet.address("alice"),
        "receiverWalletUrl": wallet.address("bob"),
        "amount": AMOUNT,
    }
    started = time.perf_counter()
    response = await http.post("/send-payment", json=body)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 201, response.text
    requests = len(
        [e for e in (await _exchanges(http, wallet))[seen:] if not e["path"].startswith("/admin")]
    )
    await http.delete(f"/payments/{response.json()['paymentId']}")
    return elapsed, requests


@dataclass
class Result:
    rtt_ms: float
    node: list[float] = field(default_factory=list)
    inproc: list[float] = field(default_factory=list)
    service: list[float] = field(default_factory=list)
    depths: list[int] = field(default_factory=list)
    cold_requests: list[int] = field(default_factory=list)
    warm_requests: list[int] = field(default_factory=list)


async def interleaved(
    wallet: Wallet, api_url: str, base: Path, result: Result, n: int, validate: bool
) -> None:
    node = NodeRunner(wallet, validate)
    await node.start()
    inproc = InProcess(wallet, base / "inproc")
    await inproc.open()
    headers = {"Authorization": f"Bearer {TEST_TOKEN}"}
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=60) as http:
        try:
            for i in range(WARM_UP + n):
                node_ms = await node.once()
                inproc_ms, depth, cold_requests = await inproc.once()
                service_ms, warm_requests = await service_once(http, wallet)
                if i >= WARM_UP:  # warm-up: connections, imports, the sandbox's JWKS cache
                    result.node.append(node_ms)
                    result.inproc.append(inproc_ms)
                    result.service.append(service_ms)
                    result.depths.append(depth)
                    result.cold_requests.append(cold_requests)
                    result.warm_requests.append(warm_requests)
        finally:
            await node.stop()
            await inproc.close()


def measure(base: Path, rtt_ms: float, iterations: int, validate: bool) -> Result:
    """One sandbox wallet (behind a latency proxy when `rtt_ms` > 0), op_api, and Node."""
    proxy_port = free_port()
    extra = ["--public-url", f"http://127.0.0.1:{proxy_port}"] if rtt_ms else []
    wallet_proc, wallet = start_wallet(base / "wallet", *extra)
    if rtt_ms:
        LatencyProxy(proxy_port, wallet_proc.port, rtt_ms).start()
        wallet = Wallet(f"http://127.0.0.1:{proxy_port}", wallet.data_dir)
    port = free_port()
    env = {**wallet_env(wallet), "DATA_DIR": str(base / "op_api"), "PORT": str(port)}
    api_proc = ServiceProcess(
        name="op_api",
        args=[console_script("op-api")],
        port=port,
        log_path=base / "op_api.log",
        env=service_env(env),
    )
    result = Result(rtt_ms)
    try:
        api_proc.start()
        asyncio.run(interleaved(wallet, api_proc.url, base, result, iterations, validate))
    finally:
        api_proc.stop()
        wallet_proc.stop()
    return result


def _summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"{statistics.median(samples):7.1f} ms  (p90 {p90:6.1f} ms)"


def report(result: Result) -> None:
    node_median = statistics.median(result.node)
    ratio_cold = statistics.median(result.inproc) / node_median
    ratio_warm = statistics.median(result.service) / node_median
    depth = statistics.mode(result.depths)
    cold, warm = statistics.mode(result.cold_requests), statistics.mode(result.warm_requests)
    where = f"{result.rtt_ms:g} ms RTT to the wallet" if result.rtt_ms else "loopback (no RTT)"
    print(f"\nWallet provider at {where}; {len(result.node)} interleaved runs (median, p90):")
    print(
        f"  official Node client, steps in sequence   : {_summary(result.node)}"
        "  7 requests, 7 round trips"
    )
    print(
        f"  op_api, cold (nothing cached), concurrent : {_summary(result.inproc)}"
        f"  {cold} requests, {depth} round trips (measured)"
    )
    print(
        f"  op_api service, warm (POST /send-payment) : {_summary(result.service)}"
        f"  {warm} requests, 2 round trips (wallets and non-interactive grants cached)"
    )
    print(f"  ratio op_api cold / Node: {ratio_cold:.2f}   (round trips {depth}/7)")
    print(f"  ratio op_api warm / Node: {ratio_warm:.2f}   (aim ≤ 0.70)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument(
        "--rtt-ms",
        default="0,20,50",
        help="round-trip times to simulate to the wallet provider, comma-separated "
        "(default 0,20,50: loopback, same region, same continent)",
    )
    parser.add_argument(
        "--node-validate",
        action="store_true",
        help="let the Node client validate responses against the OpenAPI specs (its default); "
        "off by default, which favours Node",
    )
    args = parser.parse_args()
    print((__doc__ or "").split("\n")[0])
    for rtt in sorted({float(v) for v in args.rtt_ms.split(",") if v.strip()}):
        with tempfile.TemporaryDirectory(prefix="op-bench-") as tmp:
            report(measure(Path(tmp), rtt, args.iterations, args.node_validate))


if __name__ == "__main__":
    main()
