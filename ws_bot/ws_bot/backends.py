"""Clients of the internal services: llm_back (understanding) and op_api (payments).

Both raise `Unavailable` when the service cannot answer (down, timeout, 5xx) so the conversation
can tell the user plainly, and op_api raises `Refused` with its `detail` on a 4xx.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from shared.contracts import (
    BatchView,
    ConfirmPaymentRequest,
    LinkCreate,
    LinkView,
    PaymentView,
    SendBatchRequest,
    SendPaymentRequest,
    UnderstandRequest,
    UnderstandResponse,
    WatchAnswer,
    WatchRequest,
)
from shared.http import create_client

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


class Unavailable(Exception):
    """The service did not give a usable answer."""


class Refused(Exception):
    """The service said no (4xx); `str(exc)` is its human-readable detail."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


def _detail(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return response.text[:200] or f"HTTP {response.status_code}"
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):
        return "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
    return str(detail or body)[:300]


async def _post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], *, seconds: float | None = None
) -> httpx.Response:
    """POST; `seconds` overrides the client's timeout (a long poll waits longer)."""
    try:
        if seconds is None:
            response = await client.post(path, json=body)
        else:
            response = await client.post(path, json=body, timeout=seconds)
    except httpx.HTTPError as exc:
        raise Unavailable(f"{path}: {type(exc).__name__}") from exc
    if response.status_code >= 500:
        raise Unavailable(f"{path}: HTTP {response.status_code}")
    if response.status_code >= 400:
        raise Refused(response.status_code, _detail(response))
    return response


class LlmClient:
    def __init__(self, base_url: str, token: str, timeout: float) -> None:
        self.http = create_client(base_url=base_url, bearer_token=token, timeout=timeout)

    async def understand(self, request: UnderstandRequest) -> UnderstandResponse:
        body = request.model_dump(by_alias=True, exclude_none=True)
        try:
            response = await _post(self.http, "/webhook/whatsapp", body)
            return UnderstandResponse.model_validate(response.json())
        except Refused as exc:
            # A 4xx from llm_back is our bug or oversized input: the user still gets an answer.
            logger.warning("llm_back refused a request", extra={"detail": str(exc)})
            raise Unavailable(str(exc)) from exc
        except (ValueError, ValidationError) as exc:
            raise Unavailable("llm_back answered something unreadable") from exc

    async def aclose(self) -> None:
        await self.http.aclose()


async def _call(client: httpx.AsyncClient, method: str, path: str) -> httpx.Response:
    """A body-less request, with `_post`'s errors."""
    try:
        response = await client.request(method, path)
    except httpx.HTTPError as exc:
        raise Unavailable(f"{path}: {type(exc).__name__}") from exc
    if response.status_code >= 500:
        raise Unavailable(f"{path}: HTTP {response.status_code}")
    if response.status_code >= 400:
        raise Refused(response.status_code, _detail(response))
    return response


def _read(model: type[M], response: httpx.Response) -> M:
    """op_api's answer as `model`; anything else is op_api being unavailable, not our input."""
    try:
        return model.model_validate(response.json())
    except (ValueError, ValidationError) as exc:
        raise Unavailable("op_api answered something unreadable") from exc


class OpClient:
    def __init__(self, base_url: str, token: str, timeout: float) -> None:
        # POST /send-payment is retried too: the idempotency key makes a retry return the same
        # payment instead of creating a second one. /confirm-payment only reads and advances,
        # and /payments/watch only reads.
        self.timeout = timeout
        self.http = create_client(
            base_url=base_url,
            bearer_token=token,
            timeout=timeout,
            retry_methods=frozenset({"GET", "DELETE", "POST"}),
        )

    async def send_payment(self, request: SendPaymentRequest) -> PaymentView:
        body = request.model_dump(by_alias=True, exclude_none=True)
        return _read(PaymentView, await _post(self.http, "/send-payment", body))

    async def send_batch(self, request: SendBatchRequest) -> BatchView:
        """Several payments, one approval when the wallet allows. `Refused(404)`: this op_api
        has no /send-batch."""
        body = request.model_dump(by_alias=True, exclude_none=True)
        return _read(BatchView, await _post(self.http, "/send-batch", body))

    async def cancel_batch(self, batch_id: str) -> bool:
        """Cancel what a batch has not sent yet (its shared grant with it); True if agreed."""
        return await self._delete(f"/batches/{batch_id}")

    async def confirm_payment(self, payment_id: str) -> PaymentView:
        body = ConfirmPaymentRequest(payment_id=payment_id).model_dump(by_alias=True)
        return _read(PaymentView, await _post(self.http, "/confirm-payment", body))

    async def watch(self, request: WatchRequest) -> WatchAnswer:
        """Long poll: the payments whose status differs from the one given; waits up to
        `request.wait_seconds` for one to change. `Refused(404)`: op_api has no watch."""
        body = request.model_dump(by_alias=True, mode="json")
        seconds = request.wait_seconds + self.timeout
        return _read(WatchAnswer, await _post(self.http, "/payments/watch", body, seconds=seconds))

    async def authorize(self, payment_id: str) -> PaymentView:
        """Pay a one-tap payment (confirmed in chat) with its link's grant. Its answer carries a
        `confirmationUrl` when the wallet must approve this one after all (`fallbackReason`)."""
        return _read(PaymentView, await _post(self.http, f"/payments/{payment_id}/authorize", {}))

    # ------------------------------------------------------------------ links (issue 17)

    async def create_link(self, request: LinkCreate) -> LinkView:
        """Start linking a wallet (the owner approves at `confirmationUrl`); the idempotency key
        makes a retry return the same link."""
        body = request.model_dump(by_alias=True, exclude_none=True)
        return _read(LinkView, await _post(self.http, "/links", body))

    async def confirm_link(self, link_id: str) -> LinkView:
        """Advance a pending link (like /confirm-payment) and read where it is."""
        return _read(LinkView, await _post(self.http, f"/links/{link_id}/confirm", {}))

    async def revoke_link(self, link_id: str) -> LinkView:
        """Revoke a link's grant at the wallet."""
        return _read(LinkView, await _call(self.http, "DELETE", f"/links/{link_id}"))

    async def cancel_payment(self, payment_id: str) -> bool:
        """Cancel the grant of a payment the user abandoned; True when op_api agreed."""
        return await self._delete(f"/payments/{payment_id}")

    async def _delete(self, path: str) -> bool:
        try:
            response = await self.http.delete(path)
        except httpx.HTTPError:
            logger.warning("could not cancel at op_api", extra={"path": path})
            return False
        return response.status_code < 300

    async def aclose(self) -> None:
        await self.http.aclose()
