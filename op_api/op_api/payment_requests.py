"""Money requests (issue 16): `POST /payment-requests` opens an incoming payment at the
requester's wallet for exactly the amount asked, `GET` reports it paid / declined / expired,
`DELETE` declines it (closes the incoming payment so nothing more can be paid into it).

The payer pays it through `/send-payment` with `incomingPaymentUrl`: the usual quote, consent
and approval. See `op_api.request_incoming` for how a request is kept (by the wallet).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request

from op_api.access import incoming_access
from op_api.client import OpenPaymentsError, OpenPaymentsHTTPError
from op_api.client.models import IncomingPayment, WalletAddress
from op_api.deps import Deps, ServiceError
from op_api.initiation import _resolve
from op_api.request_incoming import parse_id, read, view
from op_api.store import utcnow
from op_api.tokens import with_shared_grant
from shared.auth import InternalAuth
from shared.contracts import PaymentRequestCreate, PaymentRequestStatus, PaymentRequestView
from shared.money import Amount, MoneyError, parse_decimal
from shared.wallet_address import WalletAddressError, to_url

router = APIRouter()
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong internal token"},
    404: {"description": "Unknown payment request"},
    422: {"description": "Invalid input, or refused by the wallet"},
    502: {"description": "The requester's wallet is unreachable or failed"},
}
RequestId = Annotated[str, Path(min_length=1, max_length=6000)]


def _deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


DepsDep = Annotated[Deps, Depends(_deps)]


def _wallet_url(deps: Deps, value: str) -> str:
    try:
        return to_url(value, allow_http=deps.settings.allow_insecure_http)
    except WalletAddressError as exc:
        raise ServiceError(
            422, f"requesterWalletUrl is not a wallet address URL we can use: {exc.reason}"
        ) from exc


async def _found(deps: Deps, request_id: str) -> tuple[WalletAddress, IncomingPayment]:
    wallet_url, url = parse_id(request_id)
    wallet = await _resolve(deps, _wallet_url(deps, wallet_url), "requester")
    _, incoming = await read(deps, wallet, url)
    return wallet, incoming


def _answer(wallet_url: str, incoming: IncomingPayment) -> dict[str, Any]:
    return view(wallet_url, incoming).model_dump(by_alias=True, mode="json")


@router.post(
    "/payment-requests",
    dependencies=[InternalAuth],
    response_model=PaymentRequestView,
    status_code=201,
    responses=ERRORS,
)
async def create_request(body: PaymentRequestCreate, deps: DepsDep) -> Any:
    """An incoming payment at the requester's wallet: amount, expiry and a description."""
    try:
        maximum = deps.settings.max_payment_amount
        if maximum is not None and parse_decimal(body.amount) > maximum:
            raise ServiceError(
                422, f"amount {body.amount} is above the maximum of {maximum} for one payment"
            )
        wallet_url = _wallet_url(deps, body.requester_wallet_url)
        wallet = await _resolve(deps, wallet_url, "requester")
        try:
            amount = Amount.from_decimal(body.amount, wallet.asset_code, wallet.asset_scale)
        except MoneyError as exc:
            raise ServiceError(422, f"amount: {exc}") from exc
        metadata = {"description": body.description} if body.description else {}
        expires_at = utcnow() + timedelta(seconds=body.expires_in_seconds)
        try:
            _, incoming = await with_shared_grant(
                deps,
                wallet.auth_server,
                incoming_access(wallet.id),
                lambda token: deps.client.incoming_payment.create(
                    wallet.resource_server,
                    token,
                    wallet_address=wallet.id,
                    incoming_amount=amount,
                    expires_at=expires_at,
                    metadata=metadata or None,
                ),
                resource_server=wallet.resource_server,
            )
        except OpenPaymentsHTTPError as exc:
            if 400 <= exc.status < 500:
                reason = exc.description or exc.code or f"HTTP {exc.status}"
                raise ServiceError(422, f"the wallet refused the request: {reason}") from exc
            raise ServiceError(502, f"the wallet provider failed (HTTP {exc.status})") from exc
        except OpenPaymentsError as exc:
            raise ServiceError(502, "the requester's wallet could not be reached") from exc
    except ServiceError as exc:
        raise HTTPException(exc.status_code, exc.detail) from exc
    return _answer(wallet.id, incoming)


@router.get(
    "/payment-requests/{request_id}",
    dependencies=[InternalAuth],
    response_model=PaymentRequestView,
    responses=ERRORS,
)
async def get_request(request_id: RequestId, deps: DepsDep) -> Any:
    """The request as its incoming payment says: pending, paid, declined or expired."""
    try:
        wallet, incoming = await _found(deps, request_id)
    except ServiceError as exc:
        raise HTTPException(exc.status_code, exc.detail) from exc
    return _answer(wallet.id, incoming)


@router.delete(
    "/payment-requests/{request_id}",
    dependencies=[InternalAuth],
    response_model=PaymentRequestView,
    responses={409: {"description": "Already paid"}, **ERRORS},
)
async def decline_request(request_id: RequestId, deps: DepsDep) -> Any:
    """Decline: the incoming payment is completed, so nothing more can be paid into it."""
    try:
        wallet, incoming = await _found(deps, request_id)
        state = view(wallet.id, incoming).status
        if state == PaymentRequestStatus.PAID:
            raise ServiceError(409, "the request is already paid")
        if state == PaymentRequestStatus.PENDING:
            url = incoming.id
            try:
                await with_shared_grant(
                    deps,
                    wallet.auth_server,
                    incoming_access(wallet.id),
                    lambda token: deps.client.incoming_payment.complete(url, token),
                    resource_server=wallet.resource_server,
                )
            except OpenPaymentsError as exc:
                raise ServiceError(502, "the requester's wallet could not close it") from exc
            wallet, incoming = await _found(deps, request_id)
    except ServiceError as exc:
        raise HTTPException(exc.status_code, exc.detail) from exc
    return _answer(wallet.id, incoming)
