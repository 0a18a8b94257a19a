"""Admin shortcuts for tests and demos (local use, no authentication).

- `GET  /admin/interactions?state=pending` · `POST /admin/interactions/{interact_id}/approve`
  or `/reject` — answers the consent without a browser; returns `{redirect, interact_ref, hash}`
- `GET  /admin/outgoing-payments/{id}` — state and failure reason
- `GET  /admin/exchanges?since=N` · `DELETE /admin/exchanges` — recorded protocol messages
- Grants a wallet's owner would manage (list live ones, revoke one or many) are in
  `sandbox.wallet.admin_actions`.
- `POST /admin/faults` `{scope: auth|resource|wallet|any, mode: error|hang|late, count?, status?,
  seconds?, method?, path?}` · `GET /admin/faults` · `DELETE /admin/faults`
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from sandbox.wallet.admin import admin_error, json_object
from sandbox.wallet.faults import Fault
from sandbox.wallet.interaction import InteractionClosed, decide
from sandbox.wallet.models import Grant, OutgoingPayment
from sandbox.wallet.state import State

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/interactions")
async def interactions(request: Request, state: State) -> JSONResponse:
    wanted = request.query_params.get("state")
    async with state.sessions() as session:
        query = select(Grant).where(Grant.interact_id.is_not(None)).order_by(Grant.created_at)
        if wanted:
            query = query.where(Grant.interaction_state == wanted)
        grants = (await session.scalars(query)).all()
    return JSONResponse(
        {
            "interactions": [
                {
                    "interactId": g.interact_id,
                    "grantId": g.id,
                    "state": g.interaction_state,
                    "client": g.client,
                    "access": g.access,
                    "url": f"{state.config.auth_url}/interact/{g.interact_id}/{g.interact_nonce}",
                    "finish": g.finish_uri is not None,
                }
                for g in grants
            ]
        }
    )


@router.post("/interactions/{interact_id}/{choice}")
async def answer_interaction(interact_id: str, choice: str, state: State) -> JSONResponse:
    if choice not in {"approve", "reject"}:
        return admin_error(404, "choose approve or reject")
    async with state.sessions() as session:
        grant = await session.scalar(select(Grant).where(Grant.interact_id == interact_id))
    if grant is None:
        return admin_error(404, "unknown interaction")
    try:
        decision = await decide(state, grant, approve=choice == "approve")
    except InteractionClosed:
        return admin_error(409, "interaction already answered or expired")
    return JSONResponse(
        {
            "approved": decision.approved,
            "redirect": decision.redirect,
            "interact_ref": decision.interact_ref,
            "hash": decision.hash,
        }
    )


@router.get("/outgoing-payments/{payment_id}")
async def outgoing_status(payment_id: str, state: State) -> JSONResponse:
    async with state.sessions() as session:
        payment = await session.get(OutgoingPayment, payment_id)
    if payment is None:
        return admin_error(404, "unknown outgoing payment")
    return JSONResponse(
        {
            "id": payment.id,
            "state": payment.state,
            "failureReason": payment.failure_reason,
            "debit": str(payment.debit),
            "receive": str(payment.receive),
            "fee": str(payment.fee),
            "sent": str(payment.sent),
            "grantId": payment.grant_id,
        }
    )


@router.get("/exchanges")
async def exchanges(request: Request, state: State) -> JSONResponse:
    try:
        since = int(request.query_params.get("since", "0"))
    except ValueError:
        return admin_error(400, "since must be an integer")
    return JSONResponse({"exchanges": state.recorder.since(since)})


@router.delete("/exchanges")
async def clear_exchanges(state: State) -> Response:
    state.recorder.clear()
    return Response(status_code=204)


@router.post("/faults")
async def add_fault(request: Request, state: State) -> JSONResponse:
    body = await json_object(request)
    if isinstance(body, JSONResponse):
        return body
    scope, mode = body.get("scope", "any"), body.get("mode", "error")
    count, status, seconds = body.get("count", 1), body.get("status", 500), body.get("seconds", 0)
    if scope not in {"auth", "resource", "wallet", "any"} or mode not in {"error", "hang", "late"}:
        return admin_error(400, "scope: auth|resource|wallet|any; mode: error|hang|late")
    if (
        not isinstance(count, int)
        or count < 1
        or not isinstance(status, int)
        or not 400 <= status <= 599
    ):
        return admin_error(400, "count must be ≥ 1 and status a 4xx/5xx code")
    if not isinstance(seconds, int | float) or not 0 <= seconds <= 600:
        return admin_error(400, "seconds must be from 0 to 600")
    method, path = body.get("method"), body.get("path")
    if not isinstance(method, str | None) or not isinstance(path, str | None):
        return admin_error(400, "method and path must be strings")
    fault = Fault(
        scope=scope,
        mode=mode,
        remaining=count,
        status=status,
        seconds=float(seconds),
        method=method.upper() if method else None,
        path=path,
    )
    state.faults.add(fault)
    return JSONResponse(fault.to_json(), status_code=201)


@router.get("/faults")
async def list_faults(state: State) -> JSONResponse:
    return JSONResponse({"faults": [f.to_json() for f in state.faults.pending]})


@router.delete("/faults")
async def clear_faults(state: State) -> Response:
    state.faults.clear()
    return Response(status_code=204)
