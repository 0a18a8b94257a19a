"""Minimal stand-ins for llm_back, op_api and a wallet provider, speaking the shared contracts.

Used while the real services are being written and for failure cases that are hard to provoke
in them (a down service, a payment that fails). One process serves all three; `/_test/...`
lets a test steer payment outcomes and switch a service off.

Run: python -m tests.ws_bot.fake_backends --port P
"""

from __future__ import annotations

import argparse
import base64
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared.contracts import ConfirmPaymentRequest, SendPaymentRequest, UnderstandRequest
from shared.money import MAX_DIGITS

WALLETS = {"alice": "USD", "bob": "USD", "carol": "MXN", "dave": "USD"}
OGG = b"OggS\x00\x02" + b"\x00" * 40  # a stand-in voice note

_PAY = re.compile(
    r"(?:send|pay|env[ií]a|manda|m[aá]ndale|paga|transfer)\w*\s*(?:money|dinero)?\s*"
    r"(?:(?P<amount>\d+(?:[.,]\d+)?)\s*(?P<cur>usd|mxn|eur|d[oó]lares|dollars)?)?"
    r"(?:\s*(?:to|a|para)\s+(?P<who>.+?))?\s*$",
    re.IGNORECASE,
)


def understand(message: str, media: list[Any]) -> dict[str, Any]:
    transcript = None
    if media and media[0].type == "audio":
        transcript = base64.b64decode(media[0].data or "").decode(errors="ignore")
        transcript = transcript.removeprefix("VOICE:") if transcript.startswith("VOICE:") else ""
        message = transcript or "send 5 to bob"
        transcript = message
    elif media and media[0].type == "image":
        message = f"pay 12.50 to {message.strip() or 'bob'}"
    m = _PAY.search(message.strip())
    if m is None:
        return {"intent": "other", "response": f"echo: {message[:100]}", "transcript": transcript}
    cur = (m.group("cur") or "").lower()
    currency = {"usd": "USD", "mxn": "MXN", "eur": "EUR"}.get(cur, "USD" if cur else None)
    amount = m.group("amount") or ""
    if len(amount) > MAX_DIGITS:  # as llm_back does: never a monto no contract can carry
        return {
            "intent": "send_payment",
            "destinatario": m.group("who"),
            "amount_issue": "too_large",
            "response": "That amount is far too large. "
            f"How much do you want to send to {m.group('who')}?",
            "transcript": transcript,
        }
    return {
        "intent": "send_payment",
        "monto": m.group("amount").replace(",", ".") if m.group("amount") else None,
        "currency": currency,
        "destinatario": m.group("who"),
        "response": "ok",
        "transcript": transcript,
    }


def create_app() -> FastAPI:
    app = FastAPI()
    payments: dict[str, dict[str, Any]] = {}
    by_key: dict[str, str] = {}
    down: set[str] = set()
    calls: list[str] = []

    def money(value: str, asset: str) -> dict[str, Any]:
        return {"value": value, "assetCode": asset, "assetScale": 2}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/{name}")
    async def wallet(name: str, request: Request) -> JSONResponse:
        if name not in WALLETS:
            return JSONResponse({"error": "not found"}, 404)
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "id": f"{base}/{name}",
                "publicName": name.title(),
                "assetCode": WALLETS[name],
                "assetScale": 2,
                "authServer": f"{base}/auth",
                "resourceServer": base,
            }
        )

    @app.post("/webhook/whatsapp")
    async def llm(body: UnderstandRequest) -> JSONResponse:
        calls.append("llm")
        if "llm" in down:
            return JSONResponse({"detail": "down"}, 503)
        answer = understand(body.message, body.media)
        if body.media and body.media[0].type == "audio":
            answer["audio"] = base64.b64encode(OGG).decode()
            answer["audioMimeType"] = "audio/ogg"
        return JSONResponse(answer)

    @app.post("/send-payment")
    async def send_payment(body: SendPaymentRequest) -> JSONResponse:
        calls.append("send")
        if "op" in down:
            return JSONResponse({"detail": "down"}, 503)
        if Decimal(body.amount) > 1000:
            return JSONResponse({"detail": "Insufficient funds in the sender's wallet."}, 422)
        if body.idempotency_key and body.idempotency_key in by_key:
            return JSONResponse(payments[by_key[body.idempotency_key]]["view"])
        pid = uuid.uuid4().hex
        recv_asset = WALLETS.get(body.receiver_wallet_url.rstrip("/").rsplit("/", 1)[-1], "USD")
        amount = Decimal(body.amount).quantize(Decimal("0.01"))
        receive = amount * 17 if recv_asset == "MXN" else amount
        view = {
            "paymentId": pid,
            "status": "awaiting_approval",
            "confirmationUrl": f"http://127.0.0.1/consent/{pid}",
            "debitAmount": money(str(amount + Decimal("0.10")), "USD"),
            "receiveAmount": money(str(receive), recv_asset),
            "expiresAt": (datetime.now(UTC) + timedelta(minutes=10)).isoformat(),
        }
        payments[pid] = {"view": view, "outcome": None, "polls": 0, "request": body.model_dump()}
        if body.idempotency_key:
            by_key[body.idempotency_key] = pid
        return JSONResponse(view)

    @app.post("/confirm-payment")
    async def confirm(body: ConfirmPaymentRequest) -> JSONResponse:
        calls.append("confirm")
        if "op" in down:
            return JSONResponse({"detail": "down"}, 503)
        p = payments.get(body.payment_id)
        if p is None:
            return JSONResponse({"detail": "Unknown payment."}, 404)
        p["polls"] += 1
        if p["outcome"] == "cancelled":  # how op_api reports a cancelled payment
            p["view"].update(status="failed", failureReason="cancelled")
        elif p["outcome"]:
            p["view"]["status"] = p["outcome"]
            if p["outcome"] == "failed":
                p["view"]["failureReason"] = "insufficient liquidity"
        return JSONResponse(p["view"])

    @app.get("/payments/{pid}")
    async def get_payment(pid: str) -> JSONResponse:
        p = payments.get(pid)
        return JSONResponse(p["view"]) if p else JSONResponse({"detail": "Unknown payment."}, 404)

    @app.delete("/payments/{pid}")
    async def cancel(pid: str) -> JSONResponse:
        p = payments.get(pid)
        if p is None:
            return JSONResponse({"detail": "Unknown payment."}, 404)
        if p["view"]["status"] not in ("awaiting_approval",):
            return JSONResponse({"detail": "Too late to cancel."}, 409)
        p["view"].update(status="failed", failureReason="cancelled")  # as op_api answers
        p["cancelled"] = True
        return JSONResponse(p["view"])

    @app.post("/_test/payments/{pid}/outcome")
    async def set_outcome(pid: str, request: Request) -> dict[str, str]:
        payments[pid]["outcome"] = (await request.json())["status"]
        return {"ok": "yes"}

    @app.get("/_test/payments")
    async def list_payments() -> list[dict[str, Any]]:
        return [
            {"id": k, "polls": v["polls"], "cancelled": v.get("cancelled", False), **v["request"]}
            for k, v in payments.items()
        ]

    @app.post("/_test/down/{service}")
    async def set_down(service: str) -> dict[str, str]:
        down.add(service)
        return {"ok": "yes"}

    @app.post("/_test/up/{service}")
    async def set_up(service: str) -> dict[str, str]:
        down.discard(service)
        return {"ok": "yes"}

    @app.get("/_test/calls")
    async def get_calls() -> list[str]:
        return calls

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
