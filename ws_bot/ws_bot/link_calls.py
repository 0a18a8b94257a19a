"""op_api's linked-wallet endpoints as the scheduler uses them (issue 17): create a link with an
allowance, follow it until its owner approves it, revoke it, and authorize a payment made within
it. `Unavailable` / `Refused` as `backends.OpClient` raises them."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from shared.contracts import LinkCreate, LinkView, PaymentView
from ws_bot.backends import OpClient, Refused, Unavailable, _detail, _post

M = TypeVar("M", bound=BaseModel)


async def _call(op: OpClient, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    if method == "POST":
        return (await _post(op.http, path, body or {})).json()
    try:
        response = await op.http.request(method, path)
    except httpx.HTTPError as exc:  # the service did not answer
        raise Unavailable(f"{path}: {type(exc).__name__}") from exc
    if response.status_code >= 500:
        raise Unavailable(f"{path}: HTTP {response.status_code}")
    if response.status_code >= 400:
        raise Refused(response.status_code, _detail(response))
    return response.json()


def _read(model: type[M], body: Any) -> M:
    try:
        return model.model_validate(body)
    except (ValueError, ValidationError) as exc:
        raise Unavailable("op_api answered something unreadable") from exc


async def create_link(op: OpClient, request: LinkCreate) -> LinkView:
    body = request.model_dump(by_alias=True, exclude_none=True)
    return _read(LinkView, await _call(op, "POST", "/links", body))


async def confirm_link(op: OpClient, link_id: str) -> LinkView:
    """Advance a link (like /confirm-payment): its status now, without blocking long."""
    return _read(LinkView, await _call(op, "POST", f"/links/{link_id}/confirm"))


async def revoke_link(op: OpClient, link_id: str) -> LinkView:
    """Revoke the link's grant at the wallet (DELETE /links/{id})."""
    return _read(LinkView, await _call(op, "DELETE", f"/links/{link_id}"))


async def authorize(op: OpClient, payment_id: str) -> PaymentView:
    """Pay a payment quoted within its link's allowance (no consent page)."""
    return _read(PaymentView, await _call(op, "POST", f"/payments/{payment_id}/authorize"))
