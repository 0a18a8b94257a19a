"""The access op_api asks wallets for (one place, so initiation and renewal ask alike)."""

from __future__ import annotations

from op_api.client.models import (
    AccessIncoming,
    AccessItem,
    AccessOutgoing,
    AccessQuote,
    Amount,
    OutgoingLimits,
)


def incoming_access(receiver: str) -> list[AccessItem]:
    """Create incoming payments at `receiver`, read them (settlement), complete them."""
    return [AccessIncoming(actions=["create", "read", "complete"], identifier=receiver)]


def quote_access() -> list[AccessItem]:
    return [AccessQuote(actions=["create", "read"])]


def outgoing_access(sender: str, incoming_payment: str | None, debit: Amount) -> list[AccessItem]:
    """One payment from `sender` to that incoming payment, at most `debit` (user consent);
    without an incoming payment, any payments (a batch's) adding up to at most `debit`.

    `list` lets op_api find the outgoing payment again when the answer to its creation was
    lost (it is matched by the `externalRef` in its metadata)."""
    limits = OutgoingLimits(receiver=incoming_payment, debit_amount=debit)
    return [AccessOutgoing(actions=["create", "read", "list"], identifier=sender, limits=limits)]
