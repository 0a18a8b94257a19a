"""GET /payments/{id}/finish: the browser's return from the wallet's consent page.

Only in finish-redirect mode (`PUBLIC_URL` set); otherwise the route does not exist (404).

The auth server appends `hash` and `interact_ref` (or `result=grant_rejected`). The hash proves
the redirect belongs to our grant request; it is checked in constant time, then the
`interact_ref` is stored and the grant continued with it — once the grant's `wait` has passed
(Rafiki refuses an earlier continuation with `too_fast`). Until then the page says what is
happening and refreshes itself, and the runner continues the grant on its own when it is due.

A rejection carries no proof, so it is not taken on the redirect's word: the grant is first
cancelled at the wallet, and only once the wallet has agreed is the payment marked rejected (a
forged link can then never leave a payment "rejected" that the wallet would still let pay).
"""

from __future__ import annotations

import logging
import math

from op_api.client import OpenPaymentsError, OpenPaymentsHTTPError
from op_api.client.interaction import verify_finish_hash
from op_api.deps import Deps
from op_api.finish_page import page
from op_api.lifecycle import Status
from op_api.records import PaymentRecord
from op_api.runner import PaymentRunner
from op_api.steps import deny
from op_api.store import utcnow

logger = logging.getLogger(__name__)

NOT_FOUND = ("No encontrado", "Unknown payment.")
DONE = ("Listo", "Pago aprobado. Puedes volver a WhatsApp. / Payment approved: back to WhatsApp.")
REJECTED = ("Pago rechazado", "Rechazaste el pago. / You rejected the payment.")
UNCONFIRMED = (
    "Error",
    "Tu billetera no pudo confirmar el rechazo; inténtalo de nuevo. / "
    "Your wallet could not confirm the rejection; please try again.",
)


def _waiting(seconds: int) -> tuple[str, str]:
    return (
        "Confirmando…",
        f"Confirmando tu aprobación con tu billetera (pide esperar unos {seconds} s); esta "
        "página se actualiza sola, luego puedes volver a WhatsApp. / Confirming your approval "
        f"with your wallet (it asks us to wait about {seconds} s); this page refreshes itself, "
        "then you can go back to WhatsApp.",
    )


def _settled_page(record: PaymentRecord) -> tuple[int, str]:
    if record.status in {Status.APPROVED, Status.SENDING, Status.COMPLETED}:
        return 200, page(*DONE)
    if record.status == Status.REJECTED:
        return 200, page(*REJECTED)
    return 200, page("Paguito", f"This payment is {record.status.value}.")


async def _confirm_rejection(deps: Deps, record: PaymentRecord) -> tuple[int, str]:
    """Make the rejection definitive at the wallet (cancel the grant), then record it."""
    if record.continue_uri and record.continue_token:
        try:
            await deps.client.grant.cancel(record.continue_uri, record.continue_token)
        except OpenPaymentsError as exc:
            # 404: the wallet no longer knows the grant, so it can pay nothing either way.
            if not (isinstance(exc, OpenPaymentsHTTPError) and exc.status == 404):
                logger.warning(
                    "rejection not confirmed by the wallet",
                    extra={"payment_id": record.id, "error": str(exc)},
                )
                return 502, page(*UNCONFIRMED)
    await deny(deps, record, claimed_before=False)
    return 200, page(*REJECTED)


def _valid_hash(record: PaymentRecord, hash_: str, interact_ref: str) -> bool:
    return (
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


async def finish(
    deps: Deps,
    runner: PaymentRunner,
    payment_id: str,
    *,
    hash_: str | None,
    interact_ref: str | None,
    result: str | None,
) -> tuple[int, str]:
    if not deps.settings.public_url:
        return 404, page(*NOT_FOUND)  # polling mode: no grant ever redirects here
    record = await deps.store.get(payment_id)
    if record is None:
        return 404, page(*NOT_FOUND)
    if record.status != Status.AWAITING_APPROVAL:
        return _settled_page(record)
    if result == "grant_rejected":
        return await _confirm_rejection(deps, record)
    if not hash_ or not interact_ref or len(hash_) > 200 or len(interact_ref) > 500:
        return 400, page("Solicitud inválida", "Missing or malformed hash / interact_ref.")
    if not _valid_hash(record, hash_, interact_ref):
        logger.warning("finish redirect refused: bad hash", extra={"payment_id": payment_id})
        return 400, page("Solicitud inválida", "The approval could not be verified.")
    if record.interact_ref != interact_ref:
        await deps.store.update(
            payment_id, expect=Status.AWAITING_APPROVAL, interact_ref=interact_ref
        )
    # Continues the grant now if its `wait` has passed (else the runner does, when it has).
    await runner.advance_within(payment_id, deps.settings.confirm_budget_seconds)
    record = await deps.store.get(payment_id)
    assert record is not None
    if record.status != Status.AWAITING_APPROVAL:
        return _settled_page(record)
    due = record.next_poll_at or utcnow()
    seconds = max(1, math.ceil((due - utcnow()).total_seconds()) + 1)
    return 202, page(*_waiting(seconds), refresh_seconds=seconds)
