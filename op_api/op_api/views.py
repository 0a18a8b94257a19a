"""PaymentRecord → the PaymentView contract the gateway reads (no token, no secret)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from op_api.records import ACTIVE_STATUSES, PaymentRecord, Status
from shared.contracts import BatchStatus, BatchView, MoneyView, PaymentStatus, PaymentView
from shared.money import Amount
from shared.names import clean_name


def money(amount: Amount | None) -> MoneyView | None:
    if amount is None:
        return None
    return MoneyView(
        value=amount.to_decimal_string(),
        asset_code=amount.asset_code,
        asset_scale=amount.asset_scale,
    )


def fee(record: PaymentRecord) -> MoneyView | None:
    """Debit minus receive, when both are in the same asset (cross-currency fees are hidden)."""
    debit, receive = record.debit_amount, record.receive_amount
    if debit is None or receive is None:
        return None
    if (debit.asset_code, debit.asset_scale) != (receive.asset_code, receive.asset_scale):
        return None
    difference = max(debit.minor - receive.minor, 0)
    return money(
        Amount(value=str(difference), asset_code=debit.asset_code, asset_scale=debit.asset_scale)
    )


def public_status(status: Status) -> PaymentStatus:
    """What the gateway is told: `initiating` is still awaiting approval to it."""
    if status == Status.INITIATING:
        return PaymentStatus.AWAITING_APPROVAL
    return PaymentStatus(status.value)


def payment_view(record: PaymentRecord) -> PaymentView:
    return PaymentView(
        payment_id=record.id,
        status=public_status(record.status),
        confirmation_url=record.confirmation_url,
        debit_amount=money(record.debit_amount),
        receive_amount=money(record.receive_amount),
        fee=fee(record),
        sent_amount=money(record.sent_amount),
        expires_at=record.expires_at,
        sender_wallet_url=record.sender.id if record.sender else None,
        receiver_wallet_url=record.receiver.id if record.receiver else None,
        # A wallet's publicName is data shown inside chat messages: one short line.
        receiver_name=clean_name(record.receiver.public_name) if record.receiver else None,
        failure_reason=record.failure_reason,
        created_at=record.created_at,
        updated_at=record.updated_at,
        link_id=record.link_id if record.pays_with_link else None,
        allowance_remaining=money(record.allowance_remaining) if record.pays_with_link else None,
        fallback_reason=record.fallback_reason,
    )


def batch_status(records: list[PaymentRecord]) -> BatchStatus:
    """A batch's status, from its payments'."""
    statuses = {r.status for r in records}
    if statuses & {Status.INITIATING, Status.AWAITING_APPROVAL}:
        return BatchStatus.AWAITING_APPROVAL
    if statuses & ACTIVE_STATUSES:
        return BatchStatus.IN_PROGRESS
    if statuses == {Status.COMPLETED}:
        return BatchStatus.COMPLETED
    if Status.COMPLETED in statuses:
        return BatchStatus.PARTIAL
    if len(statuses) == 1 and statuses <= {Status.REJECTED, Status.EXPIRED}:
        return BatchStatus(statuses.pop().value)
    return BatchStatus.FAILED


def batch_view(batch: Mapping[str, Any], records: list[PaymentRecord]) -> BatchView:
    shared = bool(batch["shared_grant"])
    total = batch["debit_amount"]
    return BatchView(
        batch_id=batch["id"],
        status=batch_status(records),
        shared_grant=shared,
        confirmation_url=records[0].confirmation_url if shared and records else None,
        debit_amount=money(Amount.model_validate(total)) if total else None,
        payments=[payment_view(r) for r in records],
        created_at=batch["created_at"],
    )
