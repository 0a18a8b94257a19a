"""A payment's lifecycle: its statuses, the legal transitions, and the one function that moves
a payment from one status to another.

Nothing else writes a payment's `status`: `PaymentStore.insert` creates every row as
`initiating`, `PaymentStore.update` refuses a `status` key, and `transition` checks the move is
in `TRANSITIONS`, applies it with a compare-and-set (`… WHERE id = :id AND status = :from`), and
records when and why. An illegal transition is a bug: it raises (and is logged), it never
overwrites. `python -m op_api.lifecycle` prints the state diagram (Mermaid) drawn from the table.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from op_api.metrics import PAYMENT_TRANSITIONS
from shared.contracts import PaymentStatus

if TYPE_CHECKING:
    from op_api.store import PaymentStore, Where

logger = logging.getLogger(__name__)


class Status(StrEnum):
    """Public statuses plus `initiating` (an idempotency placeholder while /send-payment runs)."""

    INITIATING = "initiating"
    AWAITING_APPROVAL = PaymentStatus.AWAITING_APPROVAL.value
    APPROVED = PaymentStatus.APPROVED.value
    SENDING = PaymentStatus.SENDING.value
    COMPLETED = PaymentStatus.COMPLETED.value
    REJECTED = PaymentStatus.REJECTED.value
    EXPIRED = PaymentStatus.EXPIRED.value
    FAILED = PaymentStatus.FAILED.value


FIRST = Status.INITIATING
"""Every payment row is created in this status."""

ACTIVE_STATUSES = frozenset({Status.AWAITING_APPROVAL, Status.APPROVED, Status.SENDING})

TRANSITIONS: Mapping[tuple[Status, Status], str] = {
    (Status.INITIATING, Status.AWAITING_APPROVAL): (
        "grant requested, or quoted within a linked allowance"
    ),
    (Status.AWAITING_APPROVAL, Status.APPROVED): (
        "grant approved, or confirmed in chat within a linked allowance"
    ),
    (Status.AWAITING_APPROVAL, Status.REJECTED): "grant rejected",
    (Status.AWAITING_APPROVAL, Status.EXPIRED): "not approved in time",
    (Status.AWAITING_APPROVAL, Status.FAILED): "cancelled, or approval unconfirmable",
    (Status.APPROVED, Status.SENDING): "outgoing payment created (or maybe)",
    (Status.APPROVED, Status.FAILED): "cancelled, or refused by the wallet",
    (Status.APPROVED, Status.AWAITING_APPROVAL): "linked grant refused: own approval asked",
    (Status.SENDING, Status.COMPLETED): "receiver paid",
    (Status.SENDING, Status.FAILED): "failed at the wallet, or not settled in time",
}
"""Every legal move, with the label the state diagram shows on its edge."""

FINAL_STATUSES = frozenset(Status) - {source for source, _ in TRANSITIONS}


class IllegalTransition(RuntimeError):
    """A move the lifecycle does not allow: a bug in the caller, never a silent overwrite."""


def birth() -> dict[str, Any]:
    """The status columns of a new payment row (`PaymentStore.insert` adds them)."""
    return {
        "status": FIRST.value,
        "status_reason": "created",
        "status_changed_at": datetime.now(UTC),
    }


def is_legal(source: Status, target: Status) -> bool:
    return (source, target) in TRANSITIONS


async def transition(
    store: PaymentStore,
    payment_id: str,
    source: Status,
    target: Status,
    why: str,
    *,
    where: Where | None = None,
    **values: Any,
) -> bool:
    """Move one payment from `source` to `target` (and write `values` with it), only if it is
    still in `source` (and `where` holds). True if it moved; False if someone else moved it
    first. `why` is stored with the time of the move, and logged."""
    if not is_legal(source, target):
        logger.error(
            "illegal payment transition refused",
            extra={"payment_id": payment_id, "from": source.value, "to": target.value},
        )
        raise IllegalTransition(f"{source.value} → {target.value} is not a legal transition")
    now = datetime.now(UTC)
    values.update(
        status=target.value, status_reason=why[:500], status_changed_at=now, updated_at=now
    )
    sql, args = store.assignment(payment_id, values, expect=source, where=where)
    if not await store.move(payment_id, sql, args):
        return False
    PAYMENT_TRANSITIONS.labels(target.value).inc()
    store.changes.moved(payment_id)  # wakes the long polls following it (POST /payments/watch)
    logger.info(
        "payment %s → %s: %s",
        source.value,
        target.value,
        why,
        extra={"payment_id": payment_id, "from": source.value, "to": target.value},
    )
    return True


def mermaid() -> str:
    """The state diagram, drawn from `TRANSITIONS` (docs/payments.md embeds this text)."""
    lines = ["stateDiagram-v2", f"    [*] --> {FIRST.value}"]
    for (source, target), label in TRANSITIONS.items():
        lines.append(f"    {source.value} --> {target.value}: {label}")
    for status in Status:
        if status in FINAL_STATUSES:
            lines.append(f"    {status.value} --> [*]")
    return "\n".join(lines)


if __name__ == "__main__":
    print(mermaid())
