"""Which amounts can be used: positive, and exact in the asset they are in. One place, both paths.

The offline parser and the model report what was *said* ("-5", "0", "10.999"); `settle` decides
what of it a payment may carry. A refused amount becomes `monto = None` with the reason in
`amount_issue` (the reply asks again), never a rounded or sign-flipped number. A split ("60
between Bob, Alice and me") is divided here too, in whole minor units of the asset.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from llm_back.extraction import Part, Understood
from shared.contracts import AmountIssue, Intent
from shared.money import MoneyError, parse_decimal

MONEY_INTENTS = frozenset({Intent.SEND_PAYMENT.value, Intent.REQUEST_PAYMENT.value})
# A new spending limit is an amount too: "-5 a la semana" is refused with the reason as well.
_AMOUNT_INTENTS = MONEY_INTENTS | {Intent.ALLOWANCE.value}
# ISO 4217 minor units of currencies people name whose scale differs from 2; for a currency
# other than the user's own asset (whose scale the request carries), this is the best guess.
MINOR_UNITS: dict[str, int] = {
    "CLP": 0, "JPY": 0, "KRW": 0, "PYG": 0, "ISK": 0, "VND": 0, "UGX": 0, "XOF": 0,
    "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3,
}  # fmt: skip


def user_asset(
    asset_code: str | None, asset_scale: int | None, default_code: str, default_scale: int
) -> tuple[str, int]:
    """The user's asset: the request's (a code without a scale gets its ISO minor units), else
    the service's PAYMENT_ASSET_CODE / PAYMENT_ASSET_SCALE."""
    code = asset_code or default_code
    if asset_scale is not None:
        return code, asset_scale
    if code == default_code:
        return code, default_scale
    return code, MINOR_UNITS.get(code, 2)


def scale_of(currency: str | None, asset_code: str, asset_scale: int) -> int:
    """Decimals allowed for an amount in `currency` (None = the user's own asset)."""
    if currency is None or currency == asset_code:
        return asset_scale
    return MINOR_UNITS.get(currency, 2)


def issue_with(monto: str, scale: int) -> AmountIssue | None:
    """Why `monto` cannot be sent as is, or None when it can."""
    try:
        value = parse_decimal(monto)
    except MoneyError:
        return AmountIssue.TOO_LARGE  # hundreds of digits: no contract may carry it
    if value < 0:
        return AmountIssue.NEGATIVE
    if value == 0:
        return AmountIssue.ZERO
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > scale:
        return AmountIssue.TOO_PRECISE  # "20.500" is fine at scale 2; "10.999" is not
    return None


def settle(u: Understood, asset_code: str, asset_scale: int) -> Understood:
    """Refuse unusable amounts (with the reason) and divide a split; other intents pass."""
    if u.intent not in _AMOUNT_INTENTS:
        return u
    if u.split_total is not None:
        u = _divide(u, asset_code, asset_scale)
    issue: AmountIssue | None = None
    rejected: str | None = None
    monto = u.monto
    if monto is not None:
        issue = issue_with(monto, scale_of(u.currency, asset_code, asset_scale))
        if issue is not None:
            rejected, monto = monto, None
    parts = []
    for part in u.parts:
        if part.monto is not None:
            bad = issue_with(part.monto, scale_of(part.currency, asset_code, asset_scale))
            if bad is not None:
                issue, rejected = issue or bad, rejected or part.monto
                part = replace(part, monto=None)
        parts.append(part)
    return replace(
        u,
        monto=monto,
        parts=tuple(parts),
        amount_issue=issue.value if issue else None,
        rejected_amount=rejected,
    )


def _divide(u: Understood, asset_code: str, asset_scale: int) -> Understood:
    """Equal shares in whole minor units; a remainder stays with the user when they share too,
    else goes one unit each to the first recipients, so the shares always add up to the total."""
    assert u.split_total is not None
    total = u.split_total
    scale = scale_of(u.currency, asset_code, asset_scale)
    names = [p.destinatario for p in u.parts] or ([u.destinatario] if u.destinatario else [])
    people = max(u.split_between or 0, len(names))
    if issue_with(total, scale) is not None:
        return replace(u, monto=total)  # settle() reports it
    if not names:
        return u  # the reply asks who shares it
    minor = int(Decimal(total).scaleb(scale))
    base, remainder = divmod(minor, people)
    user_shares = people > len(names)
    amounts = [base + (1 if not user_shares and k < remainder else 0) for k in range(len(names))]
    shares = [format(Decimal(a).scaleb(-scale), "f") for a in amounts]
    parts = tuple(Part(n, s, u.currency) for n, s in zip(names, shares, strict=True))
    return replace(
        u,
        monto=shares[0],
        destinatario=names[0],
        parts=parts if len(parts) > 1 else (),
    )
