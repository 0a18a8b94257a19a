"""Use a stored GNAP access token; rotate it when it has expired (or the server says so).

The token is read from the store at each use (another step may have rotated it), and a rotated
token is written to the store before it is used, so a crash cannot lose it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from op_api.client import Forbidden, OpenPaymentsHTTPError, Unauthorized
from op_api.deps import Deps
from op_api.records import StoredToken
from op_api.store import utcnow

T = TypeVar("T")
TokenField = Literal["incoming_token", "quote_token", "outgoing_token"]
logger = logging.getLogger(__name__)


async def current(deps: Deps, payment_id: str, field: TokenField) -> StoredToken:
    record = await deps.store.get(payment_id)
    token = getattr(record, field, None) if record else None
    if not isinstance(token, StoredToken):
        raise LookupError(f"payment {payment_id} has no {field}")
    return token


async def rotate(deps: Deps, payment_id: str, field: TokenField, token: StoredToken) -> StoredToken:
    rotated = await deps.client.token.rotate(token.manage, token.value)
    fresh = StoredToken.from_access_token(rotated, utcnow())
    values: dict[str, Any] = {field: fresh.dump()}
    await deps.store.update(payment_id, **values)
    logger.info("access token rotated", extra={"payment_id": payment_id, "token": field})
    return fresh


async def with_token(
    deps: Deps,
    payment_id: str,
    field: TokenField,
    call: Callable[[str], Awaitable[T]],
) -> T:
    """`call(token_value)` with the stored token, rotating first if expired, or once on 401/403."""
    token = await current(deps, payment_id, field)
    if token.expired(utcnow()):
        token = await rotate(deps, payment_id, field, token)
    try:
        return await call(token.value)
    except (Unauthorized, Forbidden) as refused:
        # Expired or inactive token (a refused request created nothing, so one retry is safe).
        try:
            token = await rotate(deps, payment_id, field, token)
        except OpenPaymentsHTTPError:
            raise refused from None  # not a token problem after all: report the real refusal
        return await call(token.value)
