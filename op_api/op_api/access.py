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


def link_access(
    wallet: str, allowance: Amount | None = None, interval: str | None = None
) -> list[AccessItem]:
    """A linked wallet's standing grant. With an allowance: many payments from `wallet`, to
    anyone, up to `allowance` per repeating `interval` (`R/<start>/<duration>`). Without one
    ("ask me every time"): read access only — its approval proves control of the wallet and
    allows no spending."""
    if allowance is None:
        return [AccessOutgoing(actions=["read", "list"], identifier=wallet)]
    limits = OutgoingLimits(debit_amount=allowance, interval=interval)
    return [AccessOutgoing(actions=["create", "read", "list"], identifier=wallet, limits=limits)]
