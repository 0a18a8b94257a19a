"""A canned Open Payments server (httpx.MockTransport) that records what the client sends.

Answers are spec-shaped documents; the point is the *requests*, which the tests hand to the
official referees. No network: everything stays inside the test process.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

AS = "https://auth.wallet.test"
RS = "https://wallet.test"
ALICE = f"{RS}/alice"
BOB = f"{RS}/bob"
PLATFORM = f"{RS}/paguito"
NOW = "2026-01-01T00:00:00.000Z"


def amount(value: str, code: str = "USD") -> dict[str, Any]:
    return {"value": value, "assetCode": code, "assetScale": 2}


def wallet(url: str, code: str = "USD") -> dict[str, Any]:
    return {
        "id": url,
        "publicName": url.rsplit("/", 1)[-1].title(),
        "assetCode": code,
        "assetScale": 2,
        "authServer": AS,
        "resourceServer": RS,
    }


INCOMING: dict[str, Any] = {
    "id": f"{RS}/incoming-payments/ip-1",
    "walletAddress": BOB,
    "completed": False,
    "receivedAmount": amount("0"),
    "createdAt": NOW,
    "methods": [{"type": "ilp", "ilpAddress": "test.wallet.bob", "sharedSecret": "c2VjcmV0"}],
}
QUOTE: dict[str, Any] = {
    "id": f"{RS}/quotes/q-1",
    "walletAddress": ALICE,
    "receiver": INCOMING["id"],
    "debitAmount": amount("2000"),
    "receiveAmount": amount("1950"),
    "method": "ilp",
    "createdAt": NOW,
    "expiresAt": "2026-01-01T00:05:00.000Z",
}
OUTGOING: dict[str, Any] = {
    "id": f"{RS}/outgoing-payments/op-1",
    "walletAddress": ALICE,
    "quoteId": QUOTE["id"],
    "failed": False,
    "receiver": INCOMING["id"],
    "debitAmount": amount("2000"),
    "receiveAmount": amount("1950"),
    "sentAmount": amount("0"),
    "createdAt": NOW,
}
TOKEN: dict[str, Any] = {
    "value": "tok-1",
    "manage": f"{AS}/token/t-1",
    "expires_in": 600,
    "access": [{"type": "quote", "actions": ["create", "read"]}],
}
CONTINUE: dict[str, Any] = {
    "access_token": {"value": "cont-1"},
    "uri": f"{AS}/continue/c-1",
    "wait": 1,
}
PAGE: dict[str, Any] = {"hasNextPage": False, "hasPreviousPage": False}


def _json(data: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=data)


class FakeServer:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.errors: dict[tuple[str, str], httpx.Response] = {}

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url.copy_with(query=None))
        key = (request.method, url)
        if key in self.errors:
            return self.errors[key]
        body = json.loads(request.content) if request.content else None
        if request.method == "GET" and url.endswith("/jwks.json"):
            return _json({"keys": []})
        if request.method == "GET" and url in {ALICE, BOB, PLATFORM}:
            return _json(wallet(url))
        if url == f"{AS}/" and body is not None:
            access = body["access_token"]["access"]
            if "interact" in body:
                return _json(
                    {
                        "interact": {"redirect": f"{AS}/interact/i-1", "finish": "as-nonce"},
                        "continue": CONTINUE,
                    }
                )
            return _json({"access_token": {**TOKEN, "access": access}, "continue": CONTINUE})
        if url.startswith(f"{AS}/continue/"):
            if request.method == "DELETE":
                return httpx.Response(204)
            if body is None:
                return _json({"continue": CONTINUE})
            return _json({"access_token": TOKEN, "continue": CONTINUE})
        if url.startswith(f"{AS}/token/"):
            if request.method == "DELETE":
                return httpx.Response(204)
            return _json({"access_token": {**TOKEN, "value": "tok-2"}})
        if url == f"{RS}/incoming-payments":
            if request.method == "POST":
                return _json(INCOMING, 201)
            return _json({"pagination": PAGE, "result": [INCOMING]})
        if url == INCOMING["id"]:
            return _json(INCOMING)
        if url == INCOMING["id"] + "/complete":
            return _json({**INCOMING, "completed": True})
        if url == f"{RS}/quotes":
            return _json(QUOTE, 201)
        if url == QUOTE["id"]:
            return _json(QUOTE)
        if url == f"{RS}/outgoing-payments":
            if request.method == "POST":
                return _json(OUTGOING, 201)
            return _json({"pagination": PAGE, "result": [OUTGOING]})
        if url == OUTGOING["id"]:
            return _json(OUTGOING)
        return _json({"error": {"code": "not_found", "description": "no route"}}, 404)
