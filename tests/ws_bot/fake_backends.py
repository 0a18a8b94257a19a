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

from shared.contracts import (
    ConfirmPaymentRequest,
    LinkCreate,
    SendPaymentRequest,
    UnderstandRequest,
)
from shared.money import MAX_DIGITS

WALLETS = {"alice": "USD", "bob": "USD", "carol": "MXN", "dave": "USD"}
OGG = b"OggS\x00\x02" + b"\x00" * 40  # a stand-in voice note

_PAY = re.compile(
    r"(?:send|pay|env[ií]a|manda|m[aá]ndale|paga|transfer)\w*\s*(?:money|dinero)?\s*"
    r"(?:(?P<amount>\d+(?:[.,]\d+)?)\s*(?P<cur>usd|mxn|eur|d[oó]lares|dollars)?)?"
    r"(?:\s*(?:to|a|para)\s+(?P<who>.+?))?\s*$",
    re.IGNORECASE,
)


_EVERY = re.compile(
    r"\s*(?P<every>cada\s+(?:semana|mes|d[ií]a)|every\s+(?:week|month|day)|weekly|monthly)\s*$",
    re.IGNORECASE,
)
_RECURRENCE = {"semana": "P1W", "week": "P1W", "mes": "P1M", "month": "P1M", "día": "P1D"}
_SCHEDULES = re.compile(r"pagos programados|scheduled payments", re.IGNORECASE)


def understand(message: str, media: list[Any]) -> dict[str, Any]:
    """What llm_back would read, for the phrasings the gateway tests use."""
    if _SCHEDULES.search(message):
        return {"intent": "schedules", "response": "ok"}
    repeat = _EVERY.search(message)
    if repeat is None:
        return _understand_once(message, media)
    said = repeat.group("every").lower()
    unit = next((v for k, v in _RECURRENCE.items() if k in said), "P1D")
    unit = "P1W" if "weekly" in said else "P1M" if "monthly" in said else unit
    answer = _understand_once(message[: repeat.start()], media)
    return {**answer, "recurrence": unit}


def _understand_once(message: str, media: list[Any]) -> dict[str, Any]:
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
    links: dict[str, dict[str, Any]] = {}
    links_by_key: dict[str, str] = {}
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
            known = payments[by_key[body.idempotency_key]]
            known["asks"] += 1  # how often the same payment was asked for (replicas, retries)
            return JSONResponse(known["view"])
        pid = uuid.uuid4().hex
        recv_asset = WALLETS.get(body.receiver_wallet_url.rstrip("/").rsplit("/", 1)[-1], "USD")
        amount = Decimal(body.amount).quantize(Decimal("0.01"))
        receive = amount * 17 if recv_asset == "MXN" else amount
        debit = amount + Decimal("0.10")
        view: dict[str, Any] = {
            "paymentId": pid,
            "status": "awaiting_approval",
            "confirmationUrl": f"http://127.0.0.1/consent/{pid}",
            "debitAmount": money(str(debit), "USD"),
            "receiveAmount": money(str(receive), recv_asset),
            "expiresAt": (datetime.now(UTC) + timedelta(minutes=10)).isoformat(),
        }
        if body.link_id is not None:
            link = links.get(body.link_id)
            reason = _link_fallback(link, debit)
            if reason is None:
                view.update(confirmationUrl=None, linkId=body.link_id)
            else:
                view["fallbackReason"] = reason
        payments[pid] = {
            "view": view,
            "outcome": None,
            "polls": 0,
            "asks": 1,
            "request": body.model_dump(),
        }
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

    def _link_fallback(link: dict[str, Any] | None, debit: Decimal) -> str | None:
        """Why a payment asked with a link needs its own approval (None: the link pays it)."""
        if link is None or link["view"]["status"] not in ("active",):
            return "link_inactive"
        if link.get("revoked_at_wallet"):
            return "link_revoked"
        if link["allowance"] is None:
            return "no_allowance"
        if debit > link["allowance"]:
            return "over_allowance"
        return None

    @app.post("/payments/{pid}/authorize")
    async def authorize(pid: str) -> JSONResponse:
        calls.append("authorize")
        if "op" in down:
            return JSONResponse({"detail": "down"}, 503)
        p = payments.get(pid)
        if p is None:
            return JSONResponse({"detail": "Unknown payment."}, 404)
        if not p["view"].get("linkId"):
            return JSONResponse({"detail": "This payment needs its approval at the wallet."}, 409)
        if p["view"]["status"] == "awaiting_approval":
            p["view"]["status"] = "sending"
            link = links[p["view"]["linkId"]]
            p["outcome"] = p["outcome"] or link["run_outcome"]
            p["authorized"] = p.get("authorized", 0) + 1
        return JSONResponse(p["view"])

    @app.post("/links")
    async def create_link(body: LinkCreate) -> JSONResponse:
        calls.append("link")
        if "op" in down:
            return JSONResponse({"detail": "down"}, 503)
        if body.idempotency_key and body.idempotency_key in links_by_key:
            return JSONResponse(links[links_by_key[body.idempotency_key]]["view"])
        lid = uuid.uuid4().hex
        allowance = body.allowance
        view = {
            "linkId": lid,
            "walletUrl": body.wallet_url,
            "status": "awaiting_approval",
            "confirmationUrl": f"http://127.0.0.1/consent-link/{lid}",
            "allowance": money(allowance.amount, "USD") if allowance else None,
            "interval": allowance.interval if allowance else None,
        }
        links[lid] = {
            "view": view,
            "allowance": Decimal(allowance.amount) if allowance else None,
            "request": body.model_dump(),
            "run_outcome": "completed",
        }
        if body.idempotency_key:
            links_by_key[body.idempotency_key] = lid
        return JSONResponse(view)

    @app.get("/links/{lid}")
    async def get_link(lid: str) -> JSONResponse:
        link = links.get(lid)
        return (
            JSONResponse(link["view"]) if link else JSONResponse({"detail": "Unknown link."}, 404)
        )

    @app.post("/links/{lid}/confirm")
    async def confirm_link(lid: str) -> JSONResponse:
        calls.append("link_confirm")
        if "op" in down:
            return JSONResponse({"detail": "down"}, 503)
        return await get_link(lid)

    @app.delete("/links/{lid}")
    async def revoke_link(lid: str) -> JSONResponse:
        link = links.get(lid)
        if link is None:
            return JSONResponse({"detail": "Unknown link."}, 404)
        link["view"].update(status="revoked", confirmationUrl=None)
        link["revoked_here"] = True
        return JSONResponse(link["view"])

    @app.post("/_test/links/{lid}")
    async def steer_link(lid: str, request: Request) -> dict[str, str]:
        """{"status": "active"|"rejected"}, {"revokedAtWallet": true}, {"runOutcome": "failed"}."""
        body = await request.json()
        link = links[lid]
        if "status" in body:
            link["view"].update(status=body["status"], confirmationUrl=None)
        if body.get("revokedAtWallet"):
            link["revoked_at_wallet"] = True
        if "runOutcome" in body:
            link["run_outcome"] = body["runOutcome"]
        return {"ok": "yes"}

    @app.get("/_test/links")
    async def list_links() -> list[dict[str, Any]]:
        return [
            {"id": k, "status": v["view"]["status"], "revoked": v.get("revoked_here", False),
             **v["request"]}
            for k, v in links.items()
        ]  # fmt: skip

    @app.post("/_test/payments/{pid}/outcome")
    async def set_outcome(pid: str, request: Request) -> dict[str, str]:
        payments[pid]["outcome"] = (await request.json())["status"]
        return {"ok": "yes"}

    @app.get("/_test/payments")
    async def list_payments() -> list[dict[str, Any]]:
        return [
            {
                "id": k,
                "polls": v["polls"],
                "cancelled": v.get("cancelled", False),
                "authorized": v.get("authorized", 0),
                "asks": v["asks"],
                "status": v["view"]["status"],
                **v["request"],
            }
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
