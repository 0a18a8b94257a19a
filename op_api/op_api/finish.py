"""GET /payments/{id}/finish: the browser's return from the wallet's consent page.

The auth server appends `hash` and `interact_ref` (or `result=grant_rejected`). The hash proves
the redirect belongs to our grant request; it is checked in constant time before the grant is
continued with the `interact_ref`.
"""

from __future__ import annotations

import asyncio
import logging

from op_api.client import OpenPaymentsError, RequestDenied, TooFast
from op_api.client.interaction import verify_finish_hash
from op_api.client.models import Grant
from op_api.deps import Deps
from op_api.finish_page import page
from op_api.lifecycle import Status
from op_api.records import PaymentRecord
from op_api.runner import PaymentRunner
from op_api.steps import deny, stale_after, store_grant
from op_api.store import utcnow

logger = logging.getLogger(__name__)
MAX_FINISH_WAIT = 5.0

DONE = ("Listo", "Pago aprobado. Puedes volver a WhatsApp. / Payment approved: back to WhatsApp.")
REJECTED = ("Pago rechazado", "Rechazaste el pago. / You rejected the payment.")


async def _continue(deps: Deps, record: PaymentRecord, interact_ref: str) -> Grant | object:
    assert record.continue_uri is not None
    assert record.continue_token is not None
    uri, token = record.continue_uri, record.continue_token
    try:
        return await deps.client.grant.continue_(uri, token, interact_ref=interact_ref)
    except TooFast:
        # Rafiki refuses even an interact_ref continuation before `wait` (counted from the grant
        # request); a user quicker than that gets one retry once the wait is over.
        due = record.next_poll_at or utcnow()
        remaining = (due - utcnow()).total_seconds() + 0.2
        await asyncio.sleep(min(max(remaining, 0.2), MAX_FINISH_WAIT))
        return await deps.client.grant.continue_(uri, token, interact_ref=interact_ref)


async def finish(
    deps: Deps,
    runner: PaymentRunner,
    payment_id: str,
    *,
    hash_: str | None,
    interact_ref: str | None,
    result: str | None,
) -> tuple[int, str]:
    record = await deps.store.get(payment_id)
    if record is None:
        return 404, page("No encontrado", "Unknown payment.")
    if record.status != Status.AWAITING_APPROVAL:
        return 200, page("Paguito", f"This payment is {record.status.value}.")
    if result == "grant_rejected":
        await deny(deps, record, claimed_before=False)
        return 200, page(*REJECTED)
    if not hash_ or not interact_ref or len(hash_) > 200 or len(interact_ref) > 500:
        return 400, page("Solicitud inválida", "Missing or malformed hash / interact_ref.")
    ok = (
        record.finish_nonce is not None
        and record.as_finish_nonce is not None
        and record.sender is not None
        and verify_finish_hash(
            hash_,
            record.finish_nonce,
            record.as_finish_nonce,
            interact_ref,
            record.sender.auth_server,
        )
    )
    if not ok:
        logger.warning("finish redirect refused: bad hash", extra={"payment_id": payment_id})
        return 400, page("Solicitud inválida", "The approval could not be verified.")
    stale = utcnow() - stale_after(deps)
    if not await deps.store.claim_continuation(payment_id, stale, polling=False):
        return 202, page("Paguito", "Already processing this approval.")
    assert record.continue_uri is not None
    assert record.continue_token is not None
    try:
        grant = await _continue(deps, record, interact_ref)
    except RequestDenied:
        await deny(deps, record, claimed_before=False)
        return 200, page(*REJECTED)
    except OpenPaymentsError as exc:
        logger.warning(
            "finish continuation failed", extra={"payment_id": payment_id, "error": str(exc)}
        )
        await deps.store.update(payment_id, continue_claimed_at=None)
        return 502, page("Error", "The wallet could not confirm the approval; try again.")
    if not isinstance(grant, Grant):
        await deps.store.update(payment_id, continue_claimed_at=None)
        return 202, page("Paguito", "The wallet has not confirmed the approval yet.")
    await store_grant(deps, record, grant)
    runner.kick(payment_id)
    return 200, page(*DONE)
