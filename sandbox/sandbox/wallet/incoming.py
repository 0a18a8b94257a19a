"""Incoming payments: create, get (public or full), list, complete."""

from __future__ import annotations

import secrets
import time
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from sandbox.wallet.access import AccessError, parse_amount
from sandbox.wallet.errors import RSError
from sandbox.wallet.keys import b64url
from sandbox.wallet.models import IncomingPayment, Wallet
from sandbox.wallet.resource import (
    authorize,
    authorize_listing,
    incoming_json,
    json_body,
    local_wallet,
    page,
)
from sandbox.wallet.state import State, WalletState
from sandbox.wallet.timeutil import parse_iso

router = APIRouter(prefix="/incoming-payments", tags=["incoming-payment"])
_CREATE_FIELDS = {"walletAddress", "incomingAmount", "expiresAt", "metadata"}


@router.post("")
async def create_incoming(request: Request, state: State) -> JSONResponse:
    raw = await request.body()
    body = json_body(raw)
    wallet_url = body.get("walletAddress")
    if not isinstance(wallet_url, str) or set(body) - _CREATE_FIELDS:
        raise RSError(
            400, "walletAddress is required; allowed fields: " + ", ".join(sorted(_CREATE_FIELDS))
        )
    auth = await authorize(
        state, request, raw, kind="incoming-payment", action="create", wallet_url=wallet_url
    )
    wallet = await local_wallet(state, wallet_url)
    now = time.time()
    expires_at = now + state.config.incoming_ttl_seconds
    incoming_amount = None
    try:
        if "incomingAmount" in body:
            parsed = parse_amount(body["incomingAmount"], "incomingAmount")
            if (parsed["assetCode"], parsed["assetScale"]) != (
                wallet.asset_code,
                wallet.asset_scale,
            ):
                raise RSError(400, "incomingAmount must use the wallet's asset code and scale")
            incoming_amount = int(parsed["value"])
            if incoming_amount <= 0:
                raise RSError(400, "incomingAmount must be positive")
        if "expiresAt" in body:
            if not isinstance(body["expiresAt"], str):
                raise RSError(400, "expiresAt must be a date-time string")
            expires_at = parse_iso(body["expiresAt"])
            if expires_at <= now:
                raise RSError(400, "expiresAt must be in the future")
    except (AccessError, ValueError) as exc:
        raise RSError(400, str(exc)) from exc
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise RSError(400, "metadata must be an object")
    payment = IncomingPayment(
        id=str(uuid.uuid4()),
        wallet=wallet.name,
        client=auth.client,
        incoming_amount=incoming_amount,
        received=0,
        completed=False,
        expires_at=expires_at,
        meta=metadata,
        shared_secret=b64url(secrets.token_bytes(32)),
        created_at=now,
    )
    async with state.write() as session:
        session.add(payment)
    return JSONResponse(incoming_json(state, payment, wallet, methods=True), status_code=201)


@router.get("")
async def list_incoming(request: Request, state: State) -> JSONResponse:
    auth, wallet = await authorize_listing(state, request, "incoming-payment")
    async with state.sessions() as session:
        payments = (
            await session.scalars(
                select(IncomingPayment)
                .where(IncomingPayment.wallet == wallet.name)
                .order_by(IncomingPayment.created_at)
            )
        ).all()
    visible = [p for p in payments if auth.may_see(p.client)]
    chosen, info = page(visible, request, key=lambda p: p.id)
    return JSONResponse(
        {
            "pagination": info,
            "result": [incoming_json(state, p, wallet, methods=False) for p in chosen],
        }
    )


async def _load(state: WalletState, payment_id: str) -> tuple[IncomingPayment, Wallet]:
    async with state.sessions() as session:
        payment = await session.get(IncomingPayment, payment_id)
        wallet = await session.get(Wallet, payment.wallet) if payment else None
    if payment is None or wallet is None:
        raise RSError(404, "Not Found")
    return payment, wallet


@router.get("/{payment_id}")
async def get_incoming(payment_id: str, request: Request, state: State) -> JSONResponse:
    payment, wallet = await _load(state, payment_id)
    if "authorization" not in request.headers:
        # The public view: what a payer needs before it holds any grant at this wallet.
        return JSONResponse(
            {
                "receivedAmount": {
                    "value": str(payment.received),
                    "assetCode": wallet.asset_code,
                    "assetScale": wallet.asset_scale,
                },
                "authServer": state.config.auth_url,
            }
        )
    auth = await authorize(
        state,
        request,
        b"",
        kind="incoming-payment",
        action="read",
        wallet_url=state.config.wallet_url(wallet.name),
    )
    if not auth.may_see(payment.client):
        raise RSError(404, "Not Found")
    return JSONResponse(incoming_json(state, payment, wallet, methods=True))


@router.post("/{payment_id}/complete")
async def complete_incoming(payment_id: str, request: Request, state: State) -> JSONResponse:
    raw = await request.body()
    payment, wallet = await _load(state, payment_id)
    auth = await authorize(
        state,
        request,
        raw,
        kind="incoming-payment",
        action="complete",
        wallet_url=state.config.wallet_url(wallet.name),
    )
    if not auth.may_see(payment.client):
        raise RSError(404, "Not Found")
    if payment.expires_at <= time.time() and not payment.completed:
        raise RSError(409, "incoming payment has expired")
    async with state.write() as session:
        stored = await session.get(IncomingPayment, payment_id)
        assert stored is not None
        stored.completed = True
        payment = stored
    return JSONResponse(incoming_json(state, payment, wallet, methods=False))
