"""Driving the sandbox wallet and op_api from tests: start, approve, confirm until final."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.support.processes import (
    TEST_CLIENT_LIMITS,
    TEST_TOKEN,
    ServiceProcess,
    console_script,
    free_port,
    service_env,
)

FINAL = {"completed", "rejected", "expired", "failed"}
T = TypeVar("T")


@dataclass
class Wallet:
    url: str
    data_dir: Path

    def address(self, name: str) -> str:
        return f"{self.url}/{name}"

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.url}/admin{path}", timeout=10, **kwargs)

    def balance(self, name: str) -> int:
        return int(self.admin("GET", f"/wallets/{name}").json()["balance"]["value"])

    def answer(self, confirmation_url: str, choice: str = "approve") -> httpx.Response:
        """Approve or reject the consent without a browser (the sandbox's admin endpoint)."""
        interact_id = confirmation_url.split("/interact/", 1)[1].split("/", 1)[0]
        return self.admin("POST", f"/interactions/{interact_id}/{choice}")

    def exchanges(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.admin("GET", "/exchanges").json()["exchanges"]
        return result

    def pending_incoming(self, name: str) -> int:
        """How many incoming payments at `name` are still open (neither completed nor expired)."""
        answer = self.admin("GET", f"/incoming-payments?wallet={name}&state=pending").json()
        count: int = answer["count"]
        return count

    def outgoing_posts(self, *payment_ids: str) -> list[dict[str, Any]]:
        """The wallet's 201 answers to op_api's outgoing-payment POSTs for these payments."""
        return [
            e
            for e in self.exchanges()
            if e["method"] == "POST"
            and e["path"] == "/outgoing-payments"
            and e["status"] == 201
            and any(payment_id in e["request_body"] for payment_id in payment_ids)
        ]

    def outgoing_payment_of(self, payment_id: str) -> str:
        """The id (last path segment) of the outgoing payment op_api created for a payment."""
        for e in self.outgoing_posts(payment_id):
            return str(e["response_body"].split('"id":"', 1)[1].split('"', 1)[0].rsplit("/", 1)[1])
        raise LookupError(f"no outgoing payment created for {payment_id}")

    def add_wallet(self, name: str, balance: str, asset: str = "USD") -> str:
        response = self.admin(
            "POST", "/wallets", json={"name": name, "assetCode": asset, "balance": balance}
        )
        assert response.status_code in {201, 409}, response.text
        return self.address(name)


def start_wallet(data_dir: Path, *extra: str) -> tuple[ServiceProcess, Wallet]:
    port = free_port()
    args = [
        console_script("paguito-sandbox"),
        "wallet",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--reset",
        "--wait-seconds",
        "1",
        "--settle-delay",
        "0.2",
        *extra,
    ]
    proc = ServiceProcess(
        name="wallet", args=args, port=port, log_path=data_dir / "wallet.log", env=service_env()
    )
    proc.start(ready_path="/alice", timeout=30)
    return proc, Wallet(proc.url, data_dir)


def running_wallet(factory: pytest.TempPathFactory, label: str, *extra: str) -> Iterator[Wallet]:
    """A sandbox wallet for a fixture's lifetime (`extra`: its command-line options)."""
    proc, handle = start_wallet(factory.mktemp(label), *extra)
    yield handle
    proc.stop()


def wallet_env(wallet: Wallet) -> dict[str, str]:
    key_id = (wallet.data_dir / "paguito-key-id").read_text().strip()
    return {
        "WALLET_ADDRESS_URL": wallet.address("paguito"),
        "KEY_ID": key_id,
        "PRIVATE_KEY_PATH": str(wallet.data_dir / "paguito-private-key.pem"),
        "ALLOW_INSECURE_HTTP": "true",
    }


class OpApi:
    def __init__(self, proc: ServiceProcess) -> None:
        self.proc = proc
        self.http = httpx.Client(
            base_url=proc.url,
            headers={"Authorization": f"Bearer {TEST_TOKEN}"},
            timeout=30,
            limits=TEST_CLIENT_LIMITS,
        )

    @property
    def url(self) -> str:
        return self.proc.url

    def send(self, sender: str, receiver: str, amount: str, **extra: Any) -> httpx.Response:
        body = {"senderWalletUrl": sender, "receiverWalletUrl": receiver, "amount": amount, **extra}
        return self.http.post("/send-payment", json=body)

    def start(self, sender: str, receiver: str, amount: str, **extra: Any) -> dict[str, Any]:
        response = self.send(sender, receiver, amount, **extra)
        assert response.status_code == 201, response.text
        payment: dict[str, Any] = response.json()
        return payment

    def confirm(self, payment_id: str) -> dict[str, Any]:
        response = self.http.post("/confirm-payment", json={"paymentId": payment_id})
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view

    def get(self, payment_id: str) -> dict[str, Any]:
        response = self.http.get(f"/payments/{payment_id}")
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view

    def until_status(self, payment_id: str, status: str, timeout: float = 20) -> dict[str, Any]:
        """Poll /confirm-payment until the payment reaches `status` (or a final one)."""
        deadline = time.monotonic() + timeout
        while True:
            view = self.confirm(payment_id)
            if view["status"] in FINAL | {status} or time.monotonic() > deadline:
                return view
            time.sleep(0.3)

    def until_final(self, payment_id: str, timeout: float = 20) -> dict[str, Any]:
        """Poll /confirm-payment as the gateway does, until a final status."""
        deadline = time.monotonic() + timeout
        while True:
            view = self.confirm(payment_id)
            if view["status"] in FINAL or time.monotonic() > deadline:
                return view
            time.sleep(0.3)


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a fresh loop in its own thread.

    The session's sync Playwright keeps an event loop marked as running on the main thread, so
    neither `asyncio.run` nor pytest-asyncio can run coroutines there after a browser test.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
