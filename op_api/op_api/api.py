"""The internal HTTP API the gateway calls (bearer-protected) and the browser finish route."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse

from op_api import batches, initiation, steps, watch
from op_api import finish as finish_flow
from op_api.deps import Deps, ServiceError
from op_api.lifecycle import ACTIVE_STATUSES, Status
from op_api.records import PaymentRecord
from op_api.runner import PaymentRunner
from op_api.views import batch_view, payment_view
from shared.auth import InternalAuth
from shared.contracts import (
    BatchView,
    ConfirmPaymentRequest,
    PaymentView,
    SendBatchRequest,
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


async def _batch(deps: Deps, batch_id: str) -> dict[str, Any]:
    batch = await deps.store.get_batch(batch_id) if len(batch_id) <= 64 else None
    if batch is None:
        raise HTTPException(404, f"Unknown batch {batch_id[:64]!r}")
    return batch


async def _batch_view(deps: Deps, batch: dict[str, Any]) -> dict[str, Any]:
    view = batch_view(batch, await batches.members(deps, batch))
    return view.model_dump(by_alias=True, mode="json")


@router.post(
    "/send-batch",
    dependencies=[InternalAuth],
    response_model=BatchView,
    status_code=201,
    responses={
        200: {"description": "Same idempotencyKey: the existing batch", "model": BatchView},
        409: {"description": "idempotencyKey reused with different parameters"},
        422: {"description": "Invalid input, or a payment refused by a wallet (named)"},
        502: {"description": "A wallet provider is unreachable"},
        503: {"description": "The same idempotencyKey is still being initiated: retry"},
        401: ERRORS[401],
    },
)
async def send_batch(body: SendBatchRequest, response: Response, deps: DepsDep) -> Any:
    """Start several payments from one sender: each quoted, then one grant for their total
    (one approval), or one grant each when the wallet refuses that."""
    try:
        batch, created = await batches.send_batch(deps, body)
    except ServiceError as exc:
        raise HTTPException(exc.status_code, exc.detail) from exc
    if not created:
        response.status_code = 200
    return await _batch_view(deps, batch)


@router.get(
    "/batches/{batch_id}",
    dependencies=[InternalAuth],
    response_model=BatchView,
    responses={401: ERRORS[401], 404: {"description": "Unknown batch"}},
)
async def get_batch(batch_id: str, deps: DepsDep) -> Any:
    return await _batch_view(deps, await _batch(deps, batch_id))


@router.delete(
    "/batches/{batch_id}",
    dependencies=[InternalAuth],
    response_model=BatchView,
    responses={401: ERRORS[401], 404: {"description": "Unknown batch"}},
)
async def cancel_batch(batch_id: str, deps: DepsDep) -> Any:
    """Cancel every payment of the batch not sent yet (the shared grant with them); those
    already sent go on. The answer shows each payment's status."""
    batch = await _batch(deps, batch_id)
    await batches.cancel(deps, batch)
    return await _batch_view(deps, batch)


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
