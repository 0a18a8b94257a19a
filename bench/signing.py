"""Signing cost per request: op_api's signer vs the official Node `createHeaders`, in one run.

`uv run python -m bench signing [--iterations N]`

Both sign the same outgoing-payment creation (POST with a GNAP token and a JSON body) with the
same Ed25519 key: Content-Digest (sha-512), Content-Length, Content-Type, Signature-Input and
Signature. Python's figure includes serializing the body as compact JSON, which op_api does per
request; Node's takes the body string ready-made (which favours Node). Median of five batches
each, in rounds alternating Node and Python; printed: microseconds per request and the ratio
Python / Node.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
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


def python_us(key: SigningKey, iterations: int) -> float:
    signer = RequestSigner(key)

    def once() -> None:
        body = compact_json(BODY)
        request = httpx.Request("POST", URL, headers={"Authorization": TOKEN}, content=body)
        signer.sign(request, body)

    for _ in range(min(200, iterations)):
        once()
    batches = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(iterations):
            once()
        batches.append((time.perf_counter() - started) * 1e6 / iterations)
    return statistics.median(batches)


def node_us(pem_path: Path, key_id: str, iterations: int) -> float:
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
    return float(json.loads(done.stdout)["perRequestUs"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv or [])
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
        nodes, pythons = [], []
        for _ in range(args.rounds):
            nodes.append(node_us(pem, key.key_id, args.iterations))
            pythons.append(python_us(key, args.iterations))
    node, python = statistics.median(nodes), statistics.median(pythons)
    print(
        f"signing one request ({args.iterations} per batch, median of 5 batches, "
        f"median of {args.rounds} alternating rounds)"
    )
    print(f"  op_api (Python, http-message-signatures + cryptography): {python:8.1f} µs")
    print(f"  official Node createHeaders:                             {node:8.1f} µs")
    print(f"  ratio Python / Node: {python / node:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
