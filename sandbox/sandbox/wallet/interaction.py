"""The consent page behind `interact.redirect`, and the approve/reject decision.

Approving needs the paying wallet's password (the sandbox's sign-in, `sandbox.wallet.passwords`);
rejecting does not. Approving sets an `interact_ref`; with `finish` the browser goes back to the
client's URI with `hash` and `interact_ref` (or `result=grant_rejected`), otherwise a page says
the user can go back to WhatsApp. The admin API calls `decide` too (no password: it stands in
for the owner in other services' fast tests).
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sandbox.wallet.allowance import allowance_words, money, spends
from sandbox.wallet.clients import local_wallet_name, wallet_document
from sandbox.wallet.models import Grant, IncomingPayment, Quote, Wallet
from sandbox.wallet.pages import render
from sandbox.wallet.state import State, WalletState

router = APIRouter(prefix="/auth/interact", tags=["consent"])


def finish_hash(client_nonce: str, as_nonce: str, interact_ref: str, grant_url: str) -> str:
    data = f"{client_nonce}\n{as_nonce}\n{interact_ref}\n{grant_url}".encode()
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class Decision:
    approved: bool
    redirect: str | None  # where the browser goes next, when the client gave a finish URI
    interact_ref: str | None
    hash: str | None


class InteractionClosed(Exception):
    """The interaction is unknown, expired, or already answered."""


async def find_interaction(state: WalletState, interact_id: str, nonce: str) -> Grant | None:
    async with state.sessions() as session:
        return await session.scalar(
            select(Grant).where(Grant.interact_id == interact_id, Grant.interact_nonce == nonce)
        )


def is_open(state: WalletState, grant: Grant) -> bool:
    return (
        grant.interaction_state == "pending"
        and grant.state == "pending"
        and time.time() < grant.created_at + state.config.interaction_ttl_seconds
    )


async def decide(state: WalletState, grant: Grant, approve: bool) -> Decision:
    """Record the user's answer once; a second answer raises InteractionClosed."""
    if not is_open(state, grant):
        raise InteractionClosed
    interact_ref = str(uuid.uuid4()) if approve else None
    values: dict[str, Any] = (
        {"interaction_state": "approved", "state": "approved", "interact_ref": interact_ref}
        if approve
        else {"interaction_state": "denied", "state": "finalized", "finalization": "rejected"}
    )
    async with state.write() as session:
        result = await session.execute(
            update(Grant)
            .where(Grant.id == grant.id, Grant.interaction_state == "pending")
            .values(**values)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise InteractionClosed
    if grant.finish_uri is None:
        return Decision(approve, None, interact_ref, None)
    if not approve:
        return Decision(
            False, with_query(grant.finish_uri, {"result": "grant_rejected"}), None, None
        )
    assert interact_ref is not None
    assert grant.interact_nonce is not None
    digest = finish_hash(
        grant.client_nonce or "", grant.interact_nonce, interact_ref, state.config.auth_url
    )
    redirect = with_query(grant.finish_uri, {"hash": digest, "interact_ref": interact_ref})
    return Decision(True, redirect, interact_ref, digest)


async def consent_details(state: WalletState, grant: Grant) -> dict[str, Any]:
    """What the consent page shows: who asks, which wallet pays, how much, to whom."""
    client_doc = await wallet_document(state, grant.client) or {}
    item = next((a for a in grant.access if a["type"] == "outgoing-payment"), {})
    limits: dict[str, Any] = item.get("limits", {})
    client_name = client_doc.get("publicName") or grant.client
    details: dict[str, Any] = {
        "client_name": client_name,
        "allowance": allowance_words(item, client_name),
        "spends": spends(item),
        "recurring": "interval" in limits,
        "wallet": None,
        "client_url": grant.client,
        "payer_url": item.get("identifier", ""),
        "payer_name": "",
        "debit": money(limits["debitAmount"]) if "debitAmount" in limits else None,
        "receive": money(limits["receiveAmount"]) if "receiveAmount" in limits else None,
        "payee_name": None,
        "payee_url": None,
        "fee": None,
    }
    name = local_wallet_name(state, details["payer_url"])
    async with state.sessions() as session:
        payer = await session.get(Wallet, name) if name else None
        if payer is None:
            return details
        details["payer_name"], details["wallet"] = payer.public_name, payer.name
        if details["recurring"] or not details["spends"]:
            return details  # an allowance or a link is not one payment to one recipient
        quote = await _matching_quote(state, session, grant, payer.name, limits)
        if quote is None:
            return details
        incoming = await session.get(IncomingPayment, quote.incoming_id)
        payee = await session.get(Wallet, incoming.wallet) if incoming else None
        if payee is None:
            return details
    sender_asset = {"assetCode": payer.asset_code, "assetScale": payer.asset_scale}
    receiver_asset = {"assetCode": payee.asset_code, "assetScale": payee.asset_scale}
    details.update(
        debit=money({"value": str(quote.debit), **sender_asset}),
        receive=money({"value": str(quote.receive), **receiver_asset}),
        fee=money({"value": str(quote.fee), **sender_asset}),
        payee_name=payee.public_name,
        payee_url=state.config.wallet_url(payee.name),
    )
    return details


async def _matching_quote(
    state: WalletState, session: AsyncSession, grant: Grant, payer: str, limits: dict[str, Any]
) -> Quote | None:
    """The newest quote this client made at the payer that fits the grant's limits."""
    query = select(Quote).where(Quote.wallet == payer).order_by(Quote.created_at.desc())
    receiver = limits.get("receiver")
    for quote in (await session.scalars(query.limit(50))).all():
        if quote.client not in (None, grant.client):
            continue
        if receiver and not receiver.endswith("/incoming-payments/" + quote.incoming_id):
            continue
        if "debitAmount" in limits and int(limits["debitAmount"]["value"]) != quote.debit:
            continue
        if "receiveAmount" in limits and int(limits["receiveAmount"]["value"]) != quote.receive:
            continue
        return quote
    return None


UNKNOWN = ("Unknown request", "This payment request does not exist.", "bad", 404)
CLOSED = (
    "Already answered",
    "This payment request was already answered or has expired.",
    "bad",
    409,
)


def message(
    request: Request, title: str, text: str, tone: str = "good", status_code: int = 200
) -> HTMLResponse:
    context = {"title": title, "message": text, "tone": tone}
    return render(request, "message.html", context, status_code=status_code)


@router.get("/{interact_id}/{nonce}", response_class=HTMLResponse)
async def consent_page(
    interact_id: str, nonce: str, request: Request, state: State
) -> HTMLResponse:
    grant = await find_interaction(state, interact_id, nonce)
    if grant is None:
        return message(request, *UNKNOWN)
    if not is_open(state, grant):
        return message(request, *CLOSED)
    return await _consent(request, state, grant)


async def _consent(
    request: Request, state: WalletState, grant: Grant, error: str | None = None
) -> HTMLResponse:
    details = await consent_details(state, grant)
    action = f"{state.config.auth_url}/interact/{grant.interact_id}/{grant.interact_nonce}"
    context = {"d": details, "action": action, "error": error}
    return render(request, "consent.html", context, status_code=401 if error else 200)


async def _signed_in(request: Request, state: WalletState, grant: Grant) -> str | None:
    """None when the form carries the paying wallet's password; else what to tell the person."""
    password = (await request.form()).get("password")
    item = next((a for a in grant.access if a["type"] == "outgoing-payment"), {})
    wallet = local_wallet_name(state, item.get("identifier", ""))
    if state.passwords.locked(grant.id):
        return "Too many wrong passwords: this request is locked. Nothing was approved."
    if not isinstance(password, str) or not password:
        return "Enter your wallet's password to approve."
    if wallet is None or not state.passwords.check(wallet, password, grant.id):
        return "Wrong password. Nothing was approved; try again."
    return None


def _approved_title(grant: Grant) -> str:
    item = next((a for a in grant.access if a["type"] == "outgoing-payment"), {})
    if not spends(item):
        return "Wallet linked"
    return "Allowance approved" if "interval" in item.get("limits", {}) else "Payment approved"


@router.post("/{interact_id}/{nonce}/{choice}")
async def choose(
    interact_id: str,
    nonce: str,
    choice: str,
    request: Request,
    state: State,
) -> Response:
    grant = await find_interaction(state, interact_id, nonce)
    if grant is None or choice not in {"approve", "reject"}:
        return message(request, *UNKNOWN)
    if choice == "approve" and is_open(state, grant):
        # Approving needs the wallet owner's sign-in; rejecting does not (nothing moves).
        refusal = await _signed_in(request, state, grant)
        if refusal is not None:
            return await _consent(request, state, grant, refusal)
    try:
        decision = await decide(state, grant, approve=choice == "approve")
    except InteractionClosed:
        return message(request, *CLOSED)
    if decision.redirect is not None:
        return RedirectResponse(decision.redirect, status_code=303)
    if decision.approved:
        return message(request, _approved_title(grant), "You can go back to WhatsApp.")
    return message(
        request, "Payment rejected", "Nothing was paid. You can go back to WhatsApp.", "bad"
    )
