"""The internal HTTP API the gateway calls (bearer-protected) and the browser finish route."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse

from op_api import finish as finish_flow
from op_api import initiation, steps, watch
from op_api.deps import Deps, ServiceError
from op_api.lifecycle import ACTIVE_STATUSES, Status
from op_api.records import PaymentRecord
from op_api.runner import PaymentRunner
from op_api.views import payment_view
from shared.auth import InternalAuth
from shared.contracts import (
    ConfirmPaymentRequest,
    PaymentView,
    SendPaymentRequest,
    WatchAnswer,
    WatchRequest,
)

logger = logging.getLogger(__name__)
router = APIRouter()
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong internal token"},
    404: {"description": "Unknown payment"},
}


def _deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


def _runner(request: Request) -> PaymentRunner:
    runner: PaymentRunner = request.app.state.runner
    return runner


DepsDep = Annotated[Deps, Depends(_deps)]
RunnerDep = Annotated[PaymentRunner, Depends(_runner)]


def _view(record: PaymentRecord) -> dict[str, Any]:
    return payment_view(record).model_dump(by_alias=True, mode="json")


async def _record(deps: Deps, payment_id: str) -> PaymentRecord:
    record = await deps.store.get(payment_id) if len(payment_id) <= 64 else None
    if record is None:
        raise HTTPException(404, f"Unknown payment {payment_id[:64]!r}")
    return record


@router.post(
    "/send-payment",
    dependencies=[InternalAuth],
    response_model=PaymentView,
    status_code=201,
    responses={
        200: {"description": "Same idempotencyKey: the existing payment", "model": PaymentView},
        409: {"description": "idempotencyKey reused with different parameters"},
        422: {"description": "Invalid input, or refused by a wallet"},
        502: {"description": "A wallet provider is unreachable"},
        503: {"description": "The same idempotencyKey is still being initiated: retry"},
        **ERRORS,
    },
)
async def send_payment(body: SendPaymentRequest, response: Response, deps: DepsDep) -> Any:
    """Start a payment: incoming payment, quote and an interactive grant awaiting approval."""
    try:
        record, created = await initiation.send_payment(deps, body)
    except ServiceError as exc:
        raise HTTPException(exc.status_code, exc.detail) from exc
    if not created:
        response.status_code = 200
    return _view(record)


@router.post(
    "/confirm-payment",
    dependencies=[InternalAuth],
    response_model=PaymentView,
    responses=ERRORS,
)
async def confirm_payment(body: ConfirmPaymentRequest, deps: DepsDep, runner: RunnerDep) -> Any:
    """Current status, after at most one continuation / one step (answers within ~2 s)."""
    record = await _record(deps, body.payment_id)
    if record.status in ACTIVE_STATUSES:
        await runner.advance_within(record.id, deps.settings.confirm_budget_seconds)
        record = await _record(deps, body.payment_id)
    return _view(record)


@router.post(
    "/payments/watch",
    dependencies=[InternalAuth],
    response_model=WatchAnswer,
    responses={401: ERRORS[401]},
)
async def watch_payments(body: WatchRequest, deps: DepsDep) -> Any:
    """Long poll: the payments whose status differs from the one given (and unknown ids) at
    once; otherwise wait until one of them changes, or `waitSeconds` pass (then none)."""
    answer = await watch.watch(deps, body)
    return answer.model_dump(by_alias=True, mode="json")


@router.get(
    "/payments/{payment_id}",
    dependencies=[InternalAuth],
    response_model=PaymentView,
    responses=ERRORS,
)
async def get_payment(payment_id: str, deps: DepsDep) -> Any:
    return _view(await _record(deps, payment_id))


@router.delete(
    "/payments/{payment_id}",
    dependencies=[InternalAuth],
    response_model=PaymentView,
    responses={409: {"description": "Already sent; it cannot be cancelled"}, **ERRORS},
)
async def cancel_payment(payment_id: str, deps: DepsDep) -> Any:
    """Cancel a payment not yet sent: grant cancelled, status `failed`, reason `cancelled`."""
    await steps.cancel(deps, await _record(deps, payment_id))
    record = await _record(deps, payment_id)
    if record.status in {Status.INITIATING, Status.APPROVED, Status.SENDING, Status.COMPLETED}:
        raise HTTPException(409, f"payment is {record.status.value}; it cannot be cancelled")
    return _view(record)


@router.get(
    "/payments/{payment_id}/finish",
    response_class=HTMLResponse,
    include_in_schema=True,
    # Every status finish.finish answers with (schemathesis checks the document against them).
    responses={
        202: {"description": "Approval seen; the wallet has not confirmed it yet"},
        400: {"description": "Missing, malformed or unverifiable hash / interact_ref"},
        404: {"description": "Unknown payment, or finish-redirect mode is off (no PUBLIC_URL)"},
        502: {"description": "The wallet could not confirm the rejection"},
    },
)
async def finish_redirect(
    payment_id: str,
    deps: DepsDep,
    runner: RunnerDep,
    hash: Annotated[str | None, Query(max_length=200)] = None,
    interact_ref: Annotated[str | None, Query(max_length=500)] = None,
    result: Annotated[str | None, Query(max_length=50)] = None,
) -> HTMLResponse:
    """Where the wallet sends the user's browser back after consent (finish-redirect mode)."""
    status, html = await finish_flow.finish(
        deps, runner, payment_id, hash_=hash, interact_ref=interact_ref, result=result
    )
    return HTMLResponse(html, status_code=status)
