"""Outgoing payments: created from a quote (or an incoming payment and a debitAmount) within
the grant's limits, then settled in the background."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from sandbox.wallet.errors import RSError
from sandbox.wallet.models import Grant, IncomingPayment, OutgoingPayment, Quote, Wallet
from sandbox.wallet.quotes import create_quote
from sandbox.wallet.resource import (
    authorize,
    authorize_listing,
    incoming_url,
    json_body,
    local_wallet,
    outgoing_json,
    page,
    wallet_amount,
)
from sandbox.wallet.settlement import schedule
from sandbox.wallet.spending import spending_window, spent_under
from sandbox.wallet.state import State, WalletState

router = APIRouter(tags=["outgoing-payment"])


async def _parties(state: WalletState, quote: Quote) -> tuple[Wallet, IncomingPayment, Wallet]:
    async with state.sessions() as session:
        sender = await session.get(Wallet, quote.wallet)
        incoming = await session.get(IncomingPayment, quote.incoming_id)
        receiver = await session.get(Wallet, incoming.wallet) if incoming else None
    if sender is None or incoming is None or receiver is None:
        raise RSError(404, "Not Found")
    return sender, incoming, receiver


def _check_limits(
    state: WalletState,
    limits: dict[str, Any],
    quote: Quote,
    spent: tuple[int, int],
    sender: Wallet,
    receiver: Wallet,
) -> None:
    """Rafiki's checks: the receiver, the amounts' assets, and what is left in this interval."""
    receiver_limit = limits.get("receiver")
    if receiver_limit and receiver_limit != incoming_url(state, quote.incoming_id):
        raise RSError(403, "Insufficient Grant: the grant is for another receiver")
    for field, wallet, total in (
        ("debitAmount", sender, spent[0] + quote.debit),
        ("receiveAmount", receiver, spent[1] + quote.receive),
    ):
        limit = limits.get(field)
        if limit is None:
            continue
        if (limit["assetCode"], limit["assetScale"]) != (wallet.asset_code, wallet.asset_scale):
            raise RSError(403, f"Insufficient Grant: {field} limit is in another asset")
        if total > int(limit["value"]):
            raise RSError(403, f"Insufficient Grant: {field} limit exceeded")


@router.post("/outgoing-payments")
async def create_outgoing(request: Request, state: State) -> JSONResponse:
    raw = await request.body()
    body = json_body(raw)
    wallet_url = body.get("walletAddress")
    by_quote = set(body) <= {"walletAddress", "quoteId", "metadata"} and "quoteId" in body
    by_incoming = set(body) <= {"walletAddress", "incomingPayment", "debitAmount", "metadata"} and {
        "incomingPayment",
        "debitAmount",
    } <= set(body)
    if not isinstance(wallet_url, str) or not (by_quote or by_incoming):
        raise RSError(
            400, "give walletAddress with quoteId, or with incomingPayment and debitAmount"
        )
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise RSError(400, "metadata must be an object")
    auth = await authorize(
        state, request, raw, kind="outgoing-payment", action="create", wallet_url=wallet_url
    )
    sender = await local_wallet(state, wallet_url)
    if by_incoming:
        receiver_url = body["incomingPayment"]
        if not isinstance(receiver_url, str):
            raise RSError(400, "incomingPayment must be a URL")
        quote, _ = await create_quote(state, auth.client, sender, receiver_url, body)
    else:
        quote = await _quote_from_url(state, body["quoteId"])
    if quote.wallet != sender.name:
        raise RSError(400, "invalid quote: it belongs to another wallet address")
    if quote.expires_at <= time.time():
        raise RSError(400, "invalid quote: expired")
    if quote.used:
        # Rafiki: an outgoing payment already exists for this quote.
        raise RSError(400, "invalid quote: it has been used")
    sender, _incoming, receiver = await _parties(state, quote)
    limits: dict[str, Any] = auth.item.get("limits", {})
    payment = OutgoingPayment(
        id=str(uuid.uuid4()),
        wallet=sender.name,
        client=auth.client,
        grant_id=auth.grant.id,
        quote_id=quote.id,
        incoming_id=quote.incoming_id,
        debit=quote.debit,
        receive=quote.receive,
        fee=quote.fee,
        sent=0,
        state="sending",
        meta=metadata,
        created_at=time.time(),
    )
    # Limits are checked and the payment stored in one serialized write: two payments cannot
    # both squeeze under the same limit.
    window = spending_window(limits, payment.created_at)
    if window is None:
        raise RSError(403, "Insufficient Grant: no interval of the grant holds this moment")
    async with state.write() as session:
        spent = await spent_under(session, auth.grant.id, window)
        _check_limits(state, limits, quote, spent, sender, receiver)
        stored = await session.get(Quote, quote.id)
        if stored is None or stored.used:
            raise RSError(400, "invalid quote: it has been used")
        stored.used = True
        session.add(payment)
    schedule(state, payment.id)
    result = outgoing_json(state, payment, sender, receiver)
    # Like Rafiki: what the grant had spent (in this interval) before this payment.
    result["grantSpentDebitAmount"] = wallet_amount(spent[0], sender)
    result["grantSpentReceiveAmount"] = wallet_amount(spent[1], receiver)
    return JSONResponse(result, status_code=201)


async def _quote_from_url(state: WalletState, url: Any) -> Quote:
    prefix = f"{state.config.resource_url}/quotes/"
    if not isinstance(url, str) or not url.startswith(prefix):
        raise RSError(400, "invalid quote: quoteId is not a quote at this provider")
    async with state.sessions() as session:
        quote = await session.get(Quote, url[len(prefix) :])
    if quote is None:
        raise RSError(404, "unknown quote")
    return quote


@router.get("/outgoing-payments")
async def list_outgoing(request: Request, state: State) -> JSONResponse:
    auth, sender = await authorize_listing(state, request, "outgoing-payment")
    async with state.sessions() as session:
        payments = (
            await session.scalars(
                select(OutgoingPayment)
                .where(OutgoingPayment.wallet == sender.name)
                .order_by(OutgoingPayment.created_at)
            )
        ).all()
        receivers = {w.name: w for w in (await session.scalars(select(Wallet))).all()}
        incoming = {
            i.id: i.wallet
            for i in (
                await session.scalars(
                    select(IncomingPayment).where(
                        IncomingPayment.id.in_([p.incoming_id for p in payments])
                    )
                )
            ).all()
        }
    visible = [p for p in payments if auth.may_see(p.client)]
    chosen, info = page(visible, request, key=lambda p: p.id)
    return JSONResponse(
        {
            "pagination": info,
            "result": [
                outgoing_json(state, p, sender, receivers[incoming[p.incoming_id]]) for p in chosen
            ],
        }
    )


@router.get("/outgoing-payments/{payment_id}")
async def get_outgoing(payment_id: str, request: Request, state: State) -> JSONResponse:
    async with state.sessions() as session:
        payment = await session.get(OutgoingPayment, payment_id)
        quote = await session.get(Quote, payment.quote_id) if payment else None
    if payment is None or quote is None:
        raise RSError(404, "Not Found")
    sender, _incoming, receiver = await _parties(state, quote)
    auth = await authorize(
        state,
        request,
        b"",
        kind="outgoing-payment",
        action="read",
        wallet_url=state.config.wallet_url(sender.name),
    )
    if not auth.may_see(payment.client):
        raise RSError(404, "Not Found")
    return JSONResponse(outgoing_json(state, payment, sender, receiver))


@router.get("/outgoing-payment-grant")
async def grant_spent(request: Request, state: State) -> JSONResponse:
    auth = await authorize(
        state, request, b"", kind="outgoing-payment", action="create", wallet_url=None
    )
    grant: Grant = auth.grant
    limits: dict[str, Any] = auth.item.get("limits", {})
    window = spending_window(limits, time.time())
    nothing = JSONResponse({"spentDebitAmount": None, "spentReceiveAmount": None})
    if window is None:
        return nothing  # Rafiki: no interval holds now
    async with state.sessions() as session:
        debit, receive = await spent_under(session, grant.id, window)
        latest = await session.scalar(
            select(OutgoingPayment)
            .where(OutgoingPayment.grant_id == grant.id, OutgoingPayment.state != "failed")
            .order_by(OutgoingPayment.created_at.desc())
            .limit(1)
        )
        if latest is None:
            return nothing  # Rafiki: no payment under the grant yet
        quote = await session.get(Quote, latest.quote_id)
    if quote is None:
        return nothing
    sender, _incoming, receiver = await _parties(state, quote)
    # Rafiki: both amounts, in the assets of the grant's latest payment; spent in the current
    # interval (zero in a fresh one), or in all when the grant has no interval.
    return JSONResponse(
        {
            "spentDebitAmount": wallet_amount(debit, sender),
            "spentReceiveAmount": wallet_amount(receive, receiver),
        }
    )
