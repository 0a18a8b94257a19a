"""Quotes: fixed send (debitAmount), fixed receive (receiveAmount), or the receiver's amount."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.wallet.access import RECEIVER, AccessError, parse_amount
from sandbox.wallet.errors import RSError
from sandbox.wallet.fx import Asset, QuoteMathError, from_debit, from_receive
from sandbox.wallet.models import IncomingPayment, Quote, Wallet
from sandbox.wallet.resource import authorize, json_body, local_wallet, quote_json
from sandbox.wallet.state import State, WalletState

router = APIRouter(prefix="/quotes", tags=["quote"])
_FIELDS = {"walletAddress", "receiver", "method", "debitAmount", "receiveAmount"}


async def receiver_payment(state: WalletState, url: str) -> tuple[IncomingPayment, Wallet]:
    """The open incoming payment a receiver URL names (only this provider's are reachable)."""
    prefix = f"{state.config.resource_url}/incoming-payments/"
    if not RECEIVER.match(url) or not url.startswith(prefix):
        raise RSError(400, "invalid receiver")
    async with state.sessions() as session:
        payment = await session.get(IncomingPayment, url[len(prefix) :])
        wallet = await session.get(Wallet, payment.wallet) if payment else None
    if payment is None or wallet is None:
        raise RSError(400, "invalid receiver")
    if payment.completed or payment.expires_at <= time.time():
        raise RSError(400, "invalid receiver: the incoming payment is completed or expired")
    return payment, wallet


def _typed_amount(body: dict[str, Any], field: str, wallet: Wallet) -> int | None:
    if field not in body:
        return None
    try:
        parsed = parse_amount(body[field], field)
    except AccessError as exc:
        raise RSError(400, str(exc)) from exc
    if (parsed["assetCode"], parsed["assetScale"]) != (wallet.asset_code, wallet.asset_scale):
        raise RSError(400, f"invalid amount: {field} must be in {wallet.asset_code}")
    value = int(parsed["value"])
    if value <= 0:
        raise RSError(400, f"invalid amount: {field} must be positive")
    return value


async def create_quote(
    state: WalletState,
    client: str,
    sender: Wallet,
    receiver_url: str,
    body: dict[str, Any],
) -> tuple[Quote, Wallet]:
    incoming, receiver = await receiver_payment(state, receiver_url)
    debit = _typed_amount(body, "debitAmount", sender)
    receive = _typed_amount(body, "receiveAmount", receiver)
    remaining = (
        incoming.incoming_amount - incoming.received
        if incoming.incoming_amount is not None
        else None
    )
    source = Asset(sender.asset_code, sender.asset_scale)
    target = Asset(receiver.asset_code, receiver.asset_scale)
    try:
        if debit is not None:
            quoted = from_debit(debit, source, target)
        else:
            if receive is None:
                if remaining is None:
                    raise RSError(400, "invalid amount: the receiver has no incomingAmount")
                receive = remaining
            quoted = from_receive(receive, source, target)
    except QuoteMathError as exc:
        raise RSError(400, f"invalid amount: {exc}") from exc
    if remaining is not None and quoted.receive > remaining:
        raise RSError(400, "invalid amount: more than the incoming payment still expects")
    now = time.time()
    quote = Quote(
        id=str(uuid.uuid4()),
        wallet=sender.name,
        client=client,
        incoming_id=incoming.id,
        debit=quoted.debit,
        receive=quoted.receive,
        fee=quoted.fee,
        expires_at=min(now + state.config.quote_ttl_seconds, incoming.expires_at),
        used=False,
        created_at=now,
    )
    async with state.write() as session:
        session.add(quote)
    return quote, receiver


@router.post("")
async def post_quote(request: Request, state: State) -> JSONResponse:
    raw = await request.body()
    body = json_body(raw)
    wallet_url, receiver_url = body.get("walletAddress"), body.get("receiver")
    if not isinstance(wallet_url, str) or not isinstance(receiver_url, str) or set(body) - _FIELDS:
        raise RSError(400, "walletAddress, receiver and method are required")
    if body.get("method") != "ilp":
        raise RSError(400, "method must be 'ilp'")
    if "debitAmount" in body and "receiveAmount" in body:
        raise RSError(400, "give debitAmount or receiveAmount, not both")
    auth = await authorize(
        state, request, raw, kind="quote", action="create", wallet_url=wallet_url
    )
    sender = await local_wallet(state, wallet_url)
    quote, receiver = await create_quote(state, auth.client, sender, receiver_url, body)
    return JSONResponse(quote_json(state, quote, sender, receiver), status_code=201)


@router.get("/{quote_id}")
async def get_quote(quote_id: str, request: Request, state: State) -> JSONResponse:
    async with state.sessions() as session:
        quote = await session.get(Quote, quote_id)
        sender = await session.get(Wallet, quote.wallet) if quote else None
        incoming = await session.get(IncomingPayment, quote.incoming_id) if quote else None
        receiver = await session.get(Wallet, incoming.wallet) if incoming else None
    if quote is None or sender is None or receiver is None:
        raise RSError(404, "Not Found")
    auth = await authorize(
        state,
        request,
        b"",
        kind="quote",
        action="read",
        wallet_url=state.config.wallet_url(sender.name),
    )
    if not auth.may_see(quote.client):
        raise RSError(404, "Not Found")
    return JSONResponse(quote_json(state, quote, sender, receiver))
