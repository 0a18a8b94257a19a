"""What a wallet's user or operator does that Open Payments clients only see the effects of
(local use, no authentication), as Rafiki behaves:

- `POST /admin/grants/revoke` `{client?, type?}` — revoke every live grant (of that client, with
  an access item of that type) and its tokens, as a user's "revoke access" does: the tokens then
  answer 403 "Inactive Token". Returns `{revoked: n}`.
- `GET /admin/grants?wallet=alice` — live (approved, unrevoked) outgoing-payment grants, as the
  balances page lists them: `{grants: [{id, wallet, client, actions, limits, interval, allowance,
  spentDebit (minor units, this interval; null outside every interval), intervalEnds}]}`.
- `POST /admin/grants/{id}/revoke` — the balances page's Revoke button without the browser;
  404 when the grant is not live.
- `POST /admin/outgoing-payments/{id}/cancel` `{reason, sent?}` — the wallet gives up on a
  payment still sending: `failed: true`, the reason in `metadata.cancellationReason`, and
  `sentAmount` set to `sent` (minor units, default 0; a provider counting fees may report the
  whole debit). Nothing moves.
- `GET /admin/incoming-payments?wallet=bob&state=pending|completed|all` — a wallet's incoming
  payments (pending: neither completed nor expired) and how many.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select, update

from sandbox.wallet.admin import admin_error, json_object
from sandbox.wallet.auth_server import revoke_grant
from sandbox.wallet.grant_list import active_grants
from sandbox.wallet.models import Grant, IncomingPayment, OutgoingPayment
from sandbox.wallet.state import State

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/grants/revoke")
async def revoke_grants(request: Request, state: State) -> JSONResponse:
    body = await json_object(request)
    if isinstance(body, JSONResponse):
        return body
    client, kind = body.get("client"), body.get("type")
    if not isinstance(client, str | None) or not isinstance(kind, str | None):
        return admin_error(400, "client and type must be strings")
    async with state.sessions() as session:
        query = select(Grant).where(
            Grant.finalization.is_(None) | (Grant.finalization != "revoked")
        )
        if client:
            query = query.where(Grant.client == client)
        grants = (await session.scalars(query)).all()
    chosen = [g for g in grants if kind is None or any(a["type"] == kind for a in g.access)]
    for grant in chosen:
        await revoke_grant(state, grant.id)
    return JSONResponse({"revoked": len(chosen)})


@router.get("/grants")
async def list_grants(request: Request, state: State) -> JSONResponse:
    async with state.sessions() as session:
        views = await active_grants(state, session, request.query_params.get("wallet"))
    return JSONResponse({"grants": views})


@router.post("/grants/{grant_id}/revoke")
async def revoke_one(grant_id: str, state: State) -> JSONResponse:
    async with state.sessions() as session:
        live = {g["id"] for g in await active_grants(state, session)}
    if grant_id not in live:
        return admin_error(404, "no live outgoing-payment grant with that id")
    await revoke_grant(state, grant_id)
    return JSONResponse({"revoked": grant_id})


@router.post("/outgoing-payments/{payment_id}/cancel")
async def cancel_outgoing(payment_id: str, request: Request, state: State) -> JSONResponse:
    body = await json_object(request)
    if isinstance(body, JSONResponse):
        return body
    reason, sent = body.get("reason"), body.get("sent", 0)
    if not isinstance(reason, str) or not reason:
        return admin_error(400, "reason is required")
    if isinstance(sent, bool) or not isinstance(sent, int) or sent < 0:
        return admin_error(400, "sent must be a non-negative integer (minor units)")
    async with state.write() as session:
        payment = await session.get(OutgoingPayment, payment_id)
        if payment is None:
            return admin_error(404, "unknown outgoing payment")
        result = await session.execute(
            update(OutgoingPayment)
            .where(OutgoingPayment.id == payment_id, OutgoingPayment.state == "sending")
            .values(
                state="failed",
                failure_reason=reason,
                sent=sent,
                meta={**(payment.meta or {}), "cancellationReason": reason},
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return admin_error(409, f"the payment is {payment.state}, not sending")
    return JSONResponse({"id": payment_id, "state": "failed", "cancellationReason": reason})


@router.get("/incoming-payments")
async def incoming_payments(request: Request, state: State) -> JSONResponse:
    wallet, wanted = request.query_params.get("wallet"), request.query_params.get("state", "all")
    if wanted not in {"pending", "completed", "all"}:
        return admin_error(400, "state: pending|completed|all")
    async with state.sessions() as session:
        query = select(IncomingPayment).order_by(IncomingPayment.created_at)
        if wallet:
            query = query.where(IncomingPayment.wallet == wallet)
        payments = (await session.scalars(query)).all()
    now = time.time()

    def pending(payment: IncomingPayment) -> bool:
        return not payment.completed and payment.expires_at > now

    chosen = [p for p in payments if wanted == "all" or (wanted == "pending") == pending(p)]
    return JSONResponse(
        {
            "count": len(chosen),
            "incomingPayments": [
                {
                    "id": p.id,
                    "wallet": p.wallet,
                    "completed": p.completed,
                    "pending": pending(p),
                    "received": str(p.received),
                    "metadata": p.meta,
                }
                for p in chosen
            ],
        }
    )
