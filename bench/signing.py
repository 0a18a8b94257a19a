"""Signing cost per request: op_api's signer vs the official Node `createHeaders`, in one run.

`uv run python -m bench signing [--iterations N]`

Both sign the same outgoing-payment creation (POST with a GNAP token and a JSON body) with the
same Ed25519 key: Content-Digest (sha-512), Content-Length, Content-Type, Signature-Input and
Signature. Python's figure includes serializing the body as compact JSON and parsing the URL,
which op_api does per request; Node's takes the body string ready-made (which favours Node).
Neither includes building the HTTP client's request object. Median of five batches
each, in rounds alternating Node and Python; printed: CPU time (the process's, every thread)
and wall-clock microseconds per request, and the ratio op_api / Node with its range over rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from op_api.client.jsonbody import compact_json
from op_api.client.keys import SigningKey
from op_api.client.signing import RequestSigner
from tests.support.node import NODE_DIR, ensure_node_packages

URL = "https://wallet.example/outgoing-payments"
BODY: dict[str, Any] = {
    "walletAddress": "https://wallet.example/alice",
    "quoteId": "https://wallet.example/quotes/0b5e8d5c-4d4f-4d3a-9f0e-3c2b1a0f9e8d",
    "metadata": {"externalRef": "paguito:8f14e45fceea167a5a36dedd4bea2543"},
}
TOKEN = "GNAP 3A1F9C2E7B6D4A58"


@dataclass(frozen=True)
class Cost:
    """Median microseconds per request over five batches: CPU time and wall clock."""

    cpu_us: float
    wall_us: float


def python_cost(key: SigningKey, iterations: int) -> Cost:
    signer = RequestSigner(key)

    def once() -> None:
        # What op_api's client does per signed request (client/http.py) up to building the
        # httpx.Request, which is the HTTP client's work as Node's fetch is after createHeaders.
        body = compact_json(BODY)
        signer.headers_for("POST", httpx.URL(URL), TOKEN, body)

    for _ in range(min(200, iterations)):
        once()
    cpus, walls = [], []
    for _ in range(5):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(iterations):
            once()
        cpus.append((time.process_time() - cpu) * 1e6 / iterations)
        walls.append((time.perf_counter() - wall) * 1e6 / iterations)
    return Cost(statistics.median(cpus), statistics.median(walls))


def node_cost(pem_path: Path, key_id: str, iterations: int) -> Cost:
    ensure_node_packages()
    request = {
        "method": "POST",
        "url": URL,
        "headers": {"Authorization": TOKEN},
        "body": compact_json(BODY).decode(),
    }
    done = subprocess.run(
        ["node", str(NODE_DIR / "bench-sign.mjs"), str(pem_path), key_id, str(iterations)],
        input=json.dumps(request).encode(),
        capture_output=True,
        check=True,
        timeout=300,
    )
    result = json.loads(done.stdout)
    return Cost(float(result["cpuPerRequestUs"]), float(result["perRequestUs"]))


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} (range {min(values):.2f}-{max(values):.2f})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    private = Ed25519PrivateKey.generate()
    key = SigningKey("bench-key", private)
    with tempfile.TemporaryDirectory(prefix="sign-bench-") as tmp:
        pem = Path(tmp) / "key.pem"
        pem.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        # Rounds alternate Node and Python so both see the same machine load.
        rounds = []
        for _ in range(args.rounds):
            rounds.append(
                (node_cost(pem, key.key_id, args.iterations), python_cost(key, args.iterations))
            )
    print(
        f"signing one request ({args.iterations} per batch, median of 5 batches per round, "
        f"{args.rounds} alternating rounds; median and range over the rounds)"
    )
    for label, field in (("CPU µs ", "cpu_us"), ("wall µs", "wall_us")):
        nodes = [getattr(node, field) for node, _ in rounds]
        pythons = [getattr(python, field) for _, python in rounds]
        ratios = [p / n for n, p in zip(nodes, pythons, strict=True)]
        print(
            f"  {label}: op_api {statistics.median(pythons):6.1f} "
            f"({min(pythons):.1f}-{max(pythons):.1f}), "
            f"Node createHeaders {statistics.median(nodes):6.1f} "
            f"({min(nodes):.1f}-{max(nodes):.1f}); "
            f"ratio op_api / Node {_spread(ratios)}"
        )
    print("  aim: CPU ratio ≤ 0.70")


if __name__ == "__main__":
    main(sys.argv[1:])
