"""Helpers for the sandbox wallet tests: the process, a request signer, the Node client runner."""

from __future__ import annotations

import base64
import hashlib
import json
import queue
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms

from tests.support.node import ensure_node_packages
from tests.support.processes import ServiceProcess, console_script

WALLET_ARGS = ["wallet", "--port", "{port}", "--wait-seconds", "1", "--settle-delay", "0.2"]


@dataclass
class Wallet:
    """A running sandbox wallet and the platform key it generated."""

    proc: ServiceProcess
    data_dir: Path

    @property
    def url(self) -> str:
        return self.proc.url

    @property
    def auth(self) -> str:
        return self.url + "/auth"

    def wallet(self, name: str) -> str:
        return f"{self.url}/{name}"

    @property
    def key_id(self) -> str:
        return (self.data_dir / "paguito-key-id").read_text().strip()

    @property
    def key_path(self) -> Path:
        return self.data_dir / "paguito-private-key.pem"

    @property
    def private_key(self) -> Ed25519PrivateKey:
        key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        assert isinstance(key, Ed25519PrivateKey)
        return key

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/admin{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else None

    def balances(self) -> dict[str, int]:
        wallets = self.admin("GET", "/wallets")["wallets"]
        return {w["name"]: int(w["balance"]["value"]) for w in wallets}

    def exchanges(self) -> list[dict[str, Any]]:
        return list(self.admin("GET", "/exchanges")["exchanges"])


def start_wallet(spawn: Callable[..., ServiceProcess], tmp: Path, *extra: str) -> Wallet:
    data_dir = tmp / "wallet-data"
    proc = spawn(
        "wallet",
        [console_script("paguito-sandbox"), *WALLET_ARGS, "--data-dir", str(data_dir), *extra],
    )
    return Wallet(proc, data_dir)


class _OneKey(HTTPSignatureKeyResolver):
    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key = key

    def resolve_private_key(self, key_id: str) -> Ed25519PrivateKey:
        return self.key

    def resolve_public_key(self, key_id: str) -> Any:
        return self.key.public_key()


def compact(body: Any) -> bytes:
    """The JSON bytes Rafiki digests: what JavaScript's JSON.stringify writes."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def signed(
    method: str,
    url: str,
    key: Ed25519PrivateKey,
    key_id: str,
    *,
    body: Any = None,
    raw: bytes | None = None,
    token: str | None = None,
    digest: str = "sha-512",
    digest_over: bytes | None = None,
    extra_components: tuple[str, ...] = (),
) -> httpx.Request:
    """A request signed the way the official client signs (label sig1, keyid + created)."""
    content = raw if raw is not None else (compact(body) if body is not None else None)
    headers = {"Accept": "application/json"}
    components = ["@method", "@target-uri"]
    if token is not None:
        headers["Authorization"] = f"GNAP {token}"
        components.append("authorization")
    if content:
        algorithm = hashlib.sha512 if digest == "sha-512" else hashlib.sha256
        value = base64.b64encode(algorithm(digest_over or content).digest()).decode()
        headers["Content-Digest"] = f"{digest}=:{value}:"
        headers["Content-Type"] = "application/json"
        components += ["content-digest", "content-length", "content-type"]
    components += extra_components
    request = httpx.Request(method, url, headers=headers, content=content)
    HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=_OneKey(key)).sign(
        request,
        key_id=key_id,
        created=datetime.now(UTC),
        label="sig1",
        include_alg=False,
        covered_component_ids=components,
        use_existing_digest=bool(content),  # ours to choose: sha-256, or deliberately wrong
    )
    return request


def send(request: httpx.Request) -> httpx.Response:
    with httpx.Client(timeout=10) as client:
        return client.send(request)


class NodeFlow:
    """A `tests/node/` flow script (`wallet-op-flow.mjs` unless told) as a child process; its
    stdout is one JSON event per line."""

    def __init__(
        self,
        wallet: Wallet,
        mode: str,
        amount: str = "2000",
        script: str = "wallet-op-flow.mjs",
        **extra_env: str,
    ) -> None:
        node_dir = ensure_node_packages()
        env = {
            **extra_env,
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "SENDER": wallet.wallet("alice"),
            "RECEIVER": wallet.wallet("bob"),
            "CLIENT_WALLET": wallet.wallet("paguito"),
            "KEY_ID": wallet.key_id,
            "KEY_PATH": str(wallet.key_path),
            "AMOUNT": amount,
            "MODE": mode,
        }
        self.proc = subprocess.Popen(
            ["node", script],
            cwd=node_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                self.events.put({"event": "output", "line": line})

    def next_event(self, timeout: float = 60) -> dict[str, Any]:
        while True:
            event = self.events.get(timeout=timeout)
            if event["event"] == "error":
                raise AssertionError(f"Node client failed: {event}")
            if event["event"] != "output":
                return event

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
