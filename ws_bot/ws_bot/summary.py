"""How payments are written for people: amounts, fee, rate, "20.00 USD to Bob", dates.

Pure functions of a quote or a draft; every reply about a payment names it through `what`.
"""

from __future__ import annotations

import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shared.contracts import FallbackReason, MoneyView, PaymentView
from shared.money import MoneyError, parse_decimal
from ws_bot import allowances, draft_store, payment_store
from ws_bot.phrases import clean_name
from ws_bot.texts import t


def decimal(value: str | None) -> Decimal | None:
    try:
        return parse_decimal(value) if value else None
    except MoneyError:
        return None


def money(view: MoneyView | None) -> str:
    return f"{view.value} {view.asset_code}" if view else "—"


def _fee(view: PaymentView, lang: str) -> str:
    if view.fee is not None:
        return money(view.fee)
    debit, receive = view.debit_amount, view.receive_amount
    if debit and receive and debit.asset_code == receive.asset_code:
        fee = (decimal(debit.value) or Decimal(0)) - (decimal(receive.value) or Decimal(0))
        return t(lang, "fee_none") if fee == 0 else f"{fee} {debit.asset_code}"
    return t(lang, "fee_in_rate")


def _rate(view: PaymentView, lang: str) -> str:
    """Across currencies: how many of the receiver's units one of the sender's buys."""
    debit, receive = view.debit_amount, view.receive_amount
    if not debit or not receive or debit.asset_code == receive.asset_code:
        return ""
    sent = decimal(debit.value)
    if view.fee is not None and view.fee.asset_code == debit.asset_code:
        sent = (sent or Decimal(0)) - (decimal(view.fee.value) or Decimal(0))
    got = decimal(receive.value)
    if not sent or not got or sent <= 0:
        return ""
    rate = (got / sent).quantize(Decimal("0.0001"), ROUND_HALF_UP).normalize()
    return t(lang, "rate_line", base=debit.asset_code, rate=f"{rate:f}", quote=receive.asset_code)


def quote_of(view: PaymentView, lang: str, interval: str | None = None) -> dict[str, Any]:
    """What the summary shows and the confirmation needs; `interval`: the link's allowance
    period, to say what is left of it."""
    return {
        "confirmationUrl": view.confirmation_url,
        "debit": money(view.debit_amount),
        "receive": money(view.receive_amount),
        "fee": _fee(view, lang),
        "rate": _rate(view, lang),
        "expiresAt": view.expires_at.timestamp() if view.expires_at else None,
        "debitView": view.debit_amount.model_dump(by_alias=True) if view.debit_amount else None,
        "receiveView": view.receive_amount.model_dump(by_alias=True)
        if view.receive_amount
        else None,
        # issue 17: paid with the link's allowance (no confirmationUrl), or why not
        "linkId": view.link_id,
        "left": money(view.allowance_remaining) if view.allowance_remaining else None,
        "fallback": view.fallback_reason.value if view.fallback_reason else None,
        "interval": interval,
    }


def one_tap(quote: dict[str, Any] | None) -> bool:
    """A quote the chat's Confirm pays at once (within the link's allowance)."""
    return bool(quote and quote.get("linkId") and not quote.get("confirmationUrl"))


def link_line(lang: str | None, quote: dict[str, Any]) -> str:
    """What the allowance means for this payment: what will be left, or why the wallet must
    approve this one after all ("" when no link was asked about)."""
    if one_tap(quote):
        left = quote.get("left") or "—"
        return t(
            lang, "one_tap_left", left=left, period=allowances.period(lang, quote.get("interval"))
        )
    try:
        reason = FallbackReason(str(quote.get("fallback")))
    except ValueError:
        return ""
    left = f" ({quote['left']})" if quote.get("left") else ""
    return t(lang, f"fallback_{reason.value}", left=left)


def amount_text(amount: str | None, asset: str | None) -> str:
    value = decimal(amount)
    shown = f"{value.quantize(Decimal('0.01'))}" if value is not None else (amount or "?")
    return f"{shown} {asset or ''}".strip()


def what(lang: str | None, draft: draft_store.Draft) -> str:
    """'20.00 USD a Bob': how every reply names a payment."""
    amount = (draft.quote or {}).get("receive") or amount_text(draft.amount, draft.currency)
    if not draft.recipient_label:
        return amount
    return t(lang, "what", amount=amount, recipient=clean_name(draft.recipient_label))


def day(epoch: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


def status_word(lang: str | None, p: payment_store.Payment) -> str:
    key = f"status_{p.status}" if p.notified else "status_pending"
    try:
        return t(lang, key)
    except KeyError:
        return p.status
