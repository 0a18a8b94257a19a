"""The per-payment maximum (MAX_PAYMENT_AMOUNT): a request above it is refused before any
wallet is contacted. It bounds what one confused or hijacked conversation can ask for; the
user's wallet still asks for consent below it."""

from __future__ import annotations

from decimal import Decimal

from op_api.deps import ServiceError
from shared.contracts import SendPaymentRequest
from shared.money import parse_decimal


def check_maximum(maximum: Decimal | None, request: SendPaymentRequest) -> None:
    """ServiceError 422 when `request.amount` is above `maximum` (None: no maximum)."""
    if maximum is None:
        return
    if parse_decimal(request.amount) > maximum:
        raise ServiceError(
            422, f"amount {request.amount} is above the maximum of {maximum} for one payment"
        )
