"""A small Open Payments client for the rejection tests, signing with the platform key."""

from __future__ import annotations

import time
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.sandbox_wallet.support import Wallet, send, signed


class PyClient:
    def __init__(self, wallet: Wallet, key: Ed25519PrivateKey | None = None) -> None:
        self.w = wallet
        self.key = key or wallet.private_key
        self.key_id = wallet.key_id
        self.client = wallet.wallet("paguito")

    def request(
        self, method: str, url: str, body: Any = None, token: str | None = None, **kw: Any
    ) -> httpx.Response:
        return send(signed(method, url, self.key, self.key_id, body=body, token=token, **kw))

    def grant_request(self, access: list[dict[str, Any]], **extra: Any) -> httpx.Response:
        body = {"access_token": {"access": access}, "client": self.client, **extra}
        return self.request("POST", self.w.auth, body)

    def token(self, access: list[dict[str, Any]]) -> dict[str, Any]:
        response = self.grant_request(access)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def incoming_token(self, name: str = "bob") -> str:
        access = [
            {
                "type": "incoming-payment",
                "actions": ["create", "read", "list", "complete"],
                "identifier": self.w.wallet(name),
            }
        ]
        return str(self.token(access)["access_token"]["value"])

    def incoming(
        self, token: str, name: str = "bob", value: str = "1000", code: str = "USD"
    ) -> Any:
        body = {
            "walletAddress": self.w.wallet(name),
            "incomingAmount": {"value": value, "assetCode": code, "assetScale": 2},
        }
        response = self.request("POST", f"{self.w.url}/incoming-payments", body, token)
        assert response.status_code == 201, response.text
        return response.json()

    def quote_token(self) -> str:
        return str(
            self.token([{"type": "quote", "actions": ["create", "read"]}])["access_token"]["value"]
        )

    def quote(self, token: str, receiver: str, sender: str = "alice", **amounts: Any) -> Any:
        body = {
            "walletAddress": self.w.wallet(sender),
            "receiver": receiver,
            "method": "ilp",
            **amounts,
        }
        response = self.request("POST", f"{self.w.url}/quotes", body, token)
        assert response.status_code == 201, response.text
        return response.json()

    def pending_grant(
        self,
        limits: dict[str, Any] | None,
        sender: str = "alice",
        finish: dict[str, str] | None = None,
        actions: tuple[str, ...] = ("create", "read"),
    ) -> dict[str, Any]:
        item: dict[str, Any] = {
            "type": "outgoing-payment",
            "actions": list(actions),
            "identifier": self.w.wallet(sender),
        }
        if limits is not None:
            item["limits"] = limits
        access = [item]
        interact: dict[str, Any] = {"start": ["redirect"]}
        if finish:
            interact["finish"] = finish
        response = self.grant_request(access, interact=interact)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def decide(self, pending: dict[str, Any], choice: str = "approve") -> dict[str, Any]:
        interact_id = pending["interact"]["redirect"].split("/interact/")[1].split("/")[0]
        return dict(self.w.admin("POST", f"/interactions/{interact_id}/{choice}"))

    def continue_grant(self, pending: dict[str, Any], body: Any = None) -> httpx.Response:
        cont = pending["continue"]
        return self.request("POST", cont["uri"], body, cont["access_token"]["value"])

    def approved_token(
        self,
        limits: dict[str, Any] | None,
        sender: str = "alice",
        actions: tuple[str, ...] = ("create", "read"),
    ) -> dict[str, Any]:
        """An outgoing-payment access token, approved through the admin shortcut."""
        pending = self.pending_grant(limits, sender, actions=actions)
        self.decide(pending)
        time.sleep(pending["continue"]["wait"] + 0.05)
        response = self.continue_grant(pending)
        assert response.status_code == 200, response.text
        return dict(response.json()["access_token"])

    def pay(self, token: str, quote: dict[str, Any], sender: str = "alice") -> httpx.Response:
        body = {"walletAddress": self.w.wallet(sender), "quoteId": quote["id"]}
        return self.request("POST", f"{self.w.url}/outgoing-payments", body, token)


def error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, str(response.json()["error"]["code"])
