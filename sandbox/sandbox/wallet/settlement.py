"""Settling outgoing payments in the background, moving balances exactly once.

Like Rafiki, `sentAmount` ends at the amount sent without the fee (`debit - fee`); a payment
that cannot be paid ends `failed` with a reason (shown on /balances and /admin).
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import select, update

from sandbox.wallet.models import IncomingPayment, OutgoingPayment, Wallet
from sandbox.wallet.pages import minor
from sandbox.wallet.state import WalletState
from sandbox.wallet.store import InsufficientFunds, move

logger = logging.getLogger(__name__)


def schedule(state: WalletState, payment_id: str) -> None:
    state.spawn(_settle_later(state, payment_id))


async def resume_all(state: WalletState) -> None:
    """After a restart, pick up payments that were still sending."""
    async with state.sessions() as session:
        ids = (
            await session.scalars(
                select(OutgoingPayment.id).where(OutgoingPayment.state == "sending")
            )
        ).all()
    for payment_id in ids:
        schedule(state, payment_id)


async def _settle_later(state: WalletState, payment_id: str) -> None:
    await asyncio.sleep(state.config.settle_delay)
    try:
        await settle(state, payment_id)
    except Exception:
        logger.exception("settlement failed", extra={"payment": payment_id})


async def settle(state: WalletState, payment_id: str) -> None:
    async with state.write() as session:
        payment = await session.get(OutgoingPayment, payment_id)
        if payment is None or payment.state != "sending":
            return
        incoming = await session.get(IncomingPayment, payment.incoming_id)
        sender = await session.get(Wallet, payment.wallet)
        receiver = await session.get(Wallet, incoming.wallet) if incoming else None
        if incoming is None or sender is None or receiver is None:
            return
        reason = None
        if incoming.completed or incoming.expires_at <= time.time():
            reason = "the receiver's incoming payment is completed or expired"
        elif (
            incoming.incoming_amount is not None
            and incoming.received + payment.receive > incoming.incoming_amount
        ):
            reason = "the payment would exceed the receiver's incoming amount"
        if reason is None:
            try:
                # `move` writes nothing when it refuses, so no savepoint is needed.
                await move(
                    session,
                    sender.name,
                    -payment.debit,
                    f"Payment to {receiver.public_name} (fee {minor(payment.fee, sender)})",
                    payment.id,
                )
            except InsufficientFunds:
                reason = "insufficient funds"
        # Conditional on `sending`: a payment settles (or fails) once, whoever gets here first.
        claimed = await session.execute(
            update(OutgoingPayment)
            .where(OutgoingPayment.id == payment.id, OutgoingPayment.state == "sending")
            .values(
                state="failed" if reason else "completed",
                failure_reason=reason,
                sent=0 if reason else payment.debit - payment.fee,
            )
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise RuntimeError("payment settled concurrently")
        if reason is not None:
            logger.info("payment failed", extra={"payment": payment.id, "reason": reason})
            return
        await move(
            session,
            receiver.name,
            payment.receive,
            f"Payment from {sender.public_name}",
            payment.id,
        )
        received = incoming.received + payment.receive
        await session.execute(
            update(IncomingPayment)
            .where(IncomingPayment.id == incoming.id)
            .values(
                received=received,
                completed=incoming.incoming_amount is not None
                and received >= incoming.incoming_amount,
            )
        )
