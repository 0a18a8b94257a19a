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
import time
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
from ws_bot.cadence import parse

WALLETS = {"alice": "USD", "bob": "USD", "carol": "MXN", "dave": "USD"}
OWN_WALLET = re.compile(r"u\d{1,20}")  # "u<wa_id>": a USD wallet of one test user's own


def asset_of(name: str) -> str | None:
    """The asset of a wallet the fake provider holds; None: no such wallet."""
    return WALLETS.get(name) or ("USD" if OWN_WALLET.fullmatch(name) else None)


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
    down: set[str] = set()
    calls: list[str] = []
    links: dict[str, dict[str, Any]] = {}  # issue 17: linked wallets
    hold = {"one_tap": False}  # authorized one-tap payments wait for a test's outcome
    link_keys: dict[str, str] = {}

    def money(value: str, asset: str) -> dict[str, Any]:
        return {"value": value, "assetCode": asset, "assetScale": 2}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/{name}")
    async def wallet(name: str, request: Request) -> JSONResponse:
        if asset_of(name) is None:
            return JSONResponse({"error": "not found"}, 404)
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "id": f"{base}/{name}",
                "publicName": name.title(),
                "assetCode": asset_of(name),
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
        recv_asset = asset_of(body.receiver_wallet_url.rstrip("/").rsplit("/", 1)[-1]) or "USD"
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
        if body.link_id:  # one tap within the allowance, or why the wallet must approve
            view.update(linkId=body.link_id, **one_tap(body.link_id, amount + Decimal("0.10")))
            if "fallbackReason" not in view:
                view.pop("confirmationUrl")
        payments[pid] = {
            "view": view,
            "outcome": None,
            "polls": 0,
            "asks": 1,
            "request": body.model_dump(),
            "authorized": 0,
        }
        if body.idempotency_key:
            by_key[body.idempotency_key] = pid
        return JSONResponse(view)

    def renew(link: dict[str, Any]) -> None:
        """Spending counts per interval, as at Rafiki: a new interval starts with nothing spent
        (intervals run from the approval; a month counts as 28 days here)."""
        interval = (link["allowance"] or {}).get("interval")
        if not interval or link["approvedAt"] is None:
            return
        index = int((time.time() - link["approvedAt"]) // parse(interval).shortest_seconds)
        if index != link["intervalIndex"]:
            link["spent"], link["intervalIndex"] = Decimal(0), index

    def one_tap(link_id: str, debit: Decimal) -> dict[str, Any]:
        """What the link allows for a payment debiting `debit`: the allowance left after it,
        or a fallbackReason (as op_api answers)."""
        link = links.get(link_id)
        if link is None or link["status"] != "active":
            return {"fallbackReason": "link_inactive"}
        renew(link)
        if link["revokedAtWallet"]:
            return {"fallbackReason": "link_revoked"}
        if link["allowance"] is None:
            return {"fallbackReason": "no_allowance"}
        left = Decimal(link["allowance"]["amount"]) - link["spent"]
        asset = link["asset"]
        if debit > left:
            return {
                "fallbackReason": "over_allowance",
                "allowanceRemaining": money(str(left), asset),
            }
        return {"allowanceRemaining": money(str(left - debit), asset)}

    @app.post("/payments/{pid}/authorize")
    async def authorize(pid: str) -> JSONResponse:
        calls.append("authorize")
        if "op" in down:
            return JSONResponse({"detail": "down"}, 503)
        p = payments.get(pid)
        if p is None:
            return JSONResponse({"detail": "Unknown payment."}, 404)
        view = p["view"]
        if p["authorized"] or view["status"] != "awaiting_approval":
            return JSONResponse(view)  # idempotent: a replay changes nothing
        if not view.get("linkId") or view.get("confirmationUrl"):
            return JSONResponse({"detail": "This payment is approved at the wallet."}, 409)
        debit = Decimal(view["debitAmount"]["value"])
        fits = one_tap(view["linkId"], debit)
        if "fallbackReason" in fits:
            if fits["fallbackReason"] == "link_revoked":
                links[view["linkId"]]["status"] = "revoked"
            view.update(fits, confirmationUrl=f"http://127.0.0.1/consent/{pid}")
            return JSONResponse(view)
        links[view["linkId"]]["spent"] += debit
        p["authorized"] += 1
        view.update(fits, status="approved")
        if p["outcome"] is None and not hold["one_tap"]:  # paid with the grant: no waiting
            p["outcome"] = links[view["linkId"]]["runOutcome"]
        return JSONResponse(view)

    # ------------------------------------------------------------------ links (issue 17)

    def link_view(link_id: str) -> dict[str, Any]:
        link = links[link_id]
        view: dict[str, Any] = {
            "linkId": link_id,
            "walletUrl": link["walletUrl"],
            "status": link["status"],
            "confirmationUrl": link["confirmationUrl"],
        }
        if link["allowance"] is not None:
            amount = Decimal(link["allowance"]["amount"]).quantize(Decimal("0.01"))
            view.update(
                allowance=money(str(amount), link["asset"]),
                interval=link["allowance"]["interval"],
                spent=money(str(link["spent"]), link["asset"]),
                remaining=money(str(amount - link["spent"]), link["asset"]),
            )
        return view

    @app.post("/links")
    async def create_link(body: LinkCreate, request: Request) -> JSONResponse:
        calls.append("link")
        if "op" in down:
            return JSONResponse({"detail": "down"}, 503)
        name = body.wallet_url.rstrip("/").rsplit("/", 1)[-1]
        asset = asset_of(name)
        if asset is None:
            return JSONResponse({"detail": "Unknown wallet address."}, 422)
        if body.idempotency_key and body.idempotency_key in link_keys:
            return JSONResponse(link_view(link_keys[body.idempotency_key]))
        lid = uuid.uuid4().hex
        base = str(request.base_url).rstrip("/")
        links[lid] = {
            "walletUrl": body.wallet_url,
            "status": "awaiting_approval",
            "confirmationUrl": f"{base}/_test/consent/{lid}",
            "allowance": body.allowance.model_dump() if body.allowance else None,
            "asset": asset,
            "spent": Decimal(0),
            "revokedAtWallet": False,
            "confirms": 0,
            "approvedAt": None,
            "intervalIndex": 0,
            "runOutcome": "completed",  # how its one-tap payments end
        }
        if body.idempotency_key:
            link_keys[body.idempotency_key] = lid
        return JSONResponse(link_view(lid))

    @app.get("/links/{lid}")
    async def get_link(lid: str) -> JSONResponse:
        if lid not in links:
            return JSONResponse({"detail": "Unknown link."}, 404)
        return JSONResponse(link_view(lid))

    @app.post("/links/{lid}/confirm")
    async def confirm_link(lid: str) -> JSONResponse:
        if "op" in down:
            return JSONResponse({"detail": "down"}, 503)
        if lid not in links:
            return JSONResponse({"detail": "Unknown link."}, 404)
        links[lid]["confirms"] += 1
        return JSONResponse(link_view(lid))

    @app.delete("/links/{lid}")
    async def revoke_link(lid: str) -> JSONResponse:
        if "op" in down:
            return JSONResponse({"detail": "down"}, 503)
        if lid not in links:
            return JSONResponse({"detail": "Unknown link."}, 404)
        links[lid]["status"] = "revoked"
        return JSONResponse(link_view(lid))

    @app.post("/_test/consent/{lid}")
    async def consent(lid: str, request: Request) -> JSONResponse:
        """The wallet's consent page for a link: {"choice": "approve" | "reject"}."""
        link = links.get(lid)
        if link is None or link["status"] != "awaiting_approval":
            return JSONResponse({"detail": "Nothing to approve."}, 409)
        choice = (await request.json()).get("choice", "approve")
        link["status"] = "active" if choice == "approve" else "rejected"
        link["approvedAt"] = time.time() if choice == "approve" else None
        return JSONResponse(link_view(lid))

    @app.post("/_test/hold-one-tap/{on}")
    async def hold_one_tap(on: str) -> dict[str, str]:
        hold["one_tap"] = on == "on"
        return {"ok": "yes"}

    @app.post("/_test/links/{lid}/revoke-at-wallet")
    async def revoke_at_wallet(lid: str) -> dict[str, str]:
        links[lid]["revokedAtWallet"] = True
        return {"ok": "yes"}

    @app.post("/_test/links/{lid}/run-outcome")
    async def run_outcome(lid: str, request: Request) -> dict[str, str]:
        """How the link's next one-tap payments end: {"status": "completed" | "failed"}."""
        links[lid]["runOutcome"] = (await request.json())["status"]
        return {"ok": "yes"}

    @app.get("/_test/links")
    async def list_links() -> list[dict[str, Any]]:
        return [
            {**link_view(k), "confirms": v["confirms"], "revokedAtWallet": v["revokedAtWallet"]}
            for k, v in links.items()
        ]

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
        elif p["outcome"] in ("link_revoked", "over_allowance"):
            # The wallet refused the link's grant after authorize: back to its own approval.
            reason, p["outcome"] = p["outcome"], None
            p["view"].pop("linkId", None)
            p["view"].update(
                status="awaiting_approval",
                confirmationUrl=f"http://127.0.0.1/consent/{body.payment_id}",
                fallbackReason=reason,
            )
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
            {
                "id": k,
                "polls": v["polls"],
                "cancelled": v.get("cancelled", False),
                "authorized": v["authorized"],
                "asks": v["asks"],
                "status": v["view"]["status"],
                "view": v["view"],
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
