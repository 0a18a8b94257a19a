"""The internal routes of linked wallets (issue 17) and one-tap payments, and the browser's
return from a link's consent page (finish-redirect mode)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response
from fastapi.responses import HTMLResponse

from op_api import links, one_tap
from op_api.api import DepsDep, RunnerDep
from op_api.deps import Deps, ServiceError
from op_api.finish_page import page
from op_api.lifecycle import ACTIVE_STATUSES
from op_api.link_store import LinkRecord
from op_api.records import PaymentRecord
from op_api.views import payment_view
from shared.auth import InternalAuth
from shared.contracts import LinkCreate, LinkStatus, LinkView, PaymentView

router = APIRouter()
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong internal token"},
    404: {"description": "Unknown link"},
}
Id = Annotated[str, Path(min_length=1, max_length=64)]


def _view(link: LinkRecord) -> dict[str, Any]:
    return links.link_view(link).model_dump(by_alias=True, mode="json")


async def _link(deps: Deps, link_id: str) -> LinkRecord:
    link = await deps.links.get(link_id)
    if link is None:
        raise HTTPException(404, f"Unknown link {link_id!r}")
    return link


@router.post(
    "/links",
    dependencies=[InternalAuth],
    response_model=LinkView,
    status_code=201,
    responses={
        200: {"description": "Same idempotencyKey: the existing link", "model": LinkView},
        409: {"description": "idempotencyKey reused with different parameters"},
        422: {"description": "Invalid input, or refused by the wallet"},
        502: {"description": "The wallet provider is unreachable or failed"},
        **ERRORS,
    },
)
async def create_link(body: LinkCreate, response: Response, deps: DepsDep) -> Any:
    """Link a wallet: an interactive grant its owner approves at the wallet (`confirmationUrl`);
    with an allowance, one-tap payments may spend up to it per interval."""
    try:
        link, created = await links.create(deps, body)
    except ServiceError as exc:
        raise HTTPException(exc.status_code, exc.detail) from exc
    if not created:
        response.status_code = 200
    return _view(link)


@router.get(
    "/links/{link_id}", dependencies=[InternalAuth], response_model=LinkView, responses=ERRORS
)
async def get_link(link_id: Id, deps: DepsDep) -> Any:
    return _view(await _link(deps, link_id))


@router.post(
    "/links/{link_id}/confirm",
    dependencies=[InternalAuth],
    response_model=LinkView,
    responses=ERRORS,
)
async def confirm_link(link_id: Id, deps: DepsDep, runner: RunnerDep) -> Any:
    """Advance a pending link (continue its grant when due, expire it past its deadline) and
    return it, like /confirm-payment (within about two seconds)."""
    if (await _link(deps, link_id)).status == LinkStatus.AWAITING_APPROVAL:
        await runner.advance_link_within(link_id, deps.settings.confirm_budget_seconds)
    return _view(await _link(deps, link_id))


@router.delete(
    "/links/{link_id}",
    dependencies=[InternalAuth],
    response_model=LinkView,
    responses={502: {"description": "The wallet could not be reached: retry"}, **ERRORS},
)
async def delete_link(link_id: Id, deps: DepsDep) -> Any:
    """Unlink: cancel the pending grant, or revoke the token at the wallet (idempotent)."""
    try:
        link = await links.revoke(deps, await _link(deps, link_id))
    except ServiceError as exc:
        raise HTTPException(exc.status_code, exc.detail) from exc
    return _view(link)


async def _payment(deps: Deps, payment_id: str) -> PaymentRecord:
    record = await deps.store.get(payment_id)
    if record is None:
        raise HTTPException(404, f"Unknown payment {payment_id!r}")
    return record


@router.post(
    "/payments/{payment_id}/authorize",
    dependencies=[InternalAuth],
    response_model=PaymentView,
    responses={
        404: {"description": "Unknown payment"},
        409: {"description": "Not a one-tap payment (it is approved at the wallet)"},
        401: ERRORS[401],
    },
)
async def authorize_payment(payment_id: Id, deps: DepsDep, runner: RunnerDep) -> Any:
    """The chat's Confirm of a one-tap payment: pay it with its link's grant within the
    allowance; or, when it no longer fits or the link was revoked, `awaiting_approval` with a
    `confirmationUrl` and `fallbackReason`. Replays return the current view."""
    record = await _payment(deps, payment_id)
    if record.link_id is None:
        raise HTTPException(409, "not a one-tap payment: it is approved at the wallet")
    await one_tap.authorize(deps, record)
    record = await _payment(deps, payment_id)
    if record.status in ACTIVE_STATUSES and record.continue_uri is None:
        await runner.advance_within(record.id, deps.settings.confirm_budget_seconds)
        record = await _payment(deps, payment_id)
    return payment_view(record).model_dump(by_alias=True, mode="json")


DONE = ("Listo", "Billetera vinculada: vuelve a WhatsApp. / Wallet linked: back to WhatsApp.")
REJECTED = ("Vinculación rechazada", "Rechazaste la vinculación. / You rejected the link.")


@router.get(
    "/links/{link_id}/finish",
    response_class=HTMLResponse,
    responses={
        202: {"description": "Approval seen; the wallet has not confirmed it yet"},
        400: {"description": "Missing, malformed or unverifiable hash / interact_ref"},
        404: {"description": "Unknown link, or finish-redirect mode is off (no PUBLIC_URL)"},
        502: {"description": "The wallet could not confirm the rejection"},
    },
)
async def finish_link(
    link_id: str,
    deps: DepsDep,
    hash: Annotated[str | None, Query(max_length=200)] = None,
    interact_ref: Annotated[str | None, Query(max_length=500)] = None,
    result: Annotated[str | None, Query(max_length=50)] = None,
) -> HTMLResponse:
    """Where the wallet sends the owner's browser back after consent (finish-redirect mode)."""
    if not deps.settings.public_url or len(link_id) > 64:
        return HTMLResponse(page("No encontrado", "Unknown link."), status_code=404)
    try:
        link = await links.finish(
            deps, link_id, hash_=hash, interact_ref=interact_ref, result=result
        )
    except ServiceError as exc:
        return HTMLResponse(page("Solicitud inválida", exc.detail), status_code=exc.status_code)
    if link is None:
        return HTMLResponse(page("No encontrado", "Unknown link."), status_code=404)
    if link.status == LinkStatus.ACTIVE:
        return HTMLResponse(page(*DONE))
    if link.status == LinkStatus.REJECTED:
        return HTMLResponse(page(*REJECTED))
    if link.status == LinkStatus.AWAITING_APPROVAL:
        wait = max(1, (link.continue_wait or 1) + 1)
        message = "Confirmando con tu billetera… / Confirming with your wallet…"
        return HTMLResponse(page("Confirmando…", message, refresh_seconds=wait), status_code=202)
    return HTMLResponse(page("Paguito", f"This link is {link.status.value}."))
