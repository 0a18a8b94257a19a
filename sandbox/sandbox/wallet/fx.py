"""Quote arithmetic: fixed exchange rates and a small visible fee, in exact integer minor units.

The fee is 1% of the amount actually sent (rounded up, at least one minor unit) and is charged
in the sender's asset: `debitAmount = sent + fee`, `receiveAmount = convert(sent)` rounded down.
With a fixed debit, a minor unit that no amount-plus-fee can use is kept in the fee.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

# Units of each asset per US dollar.
RATES_PER_USD: dict[str, Fraction] = {
    "USD": Fraction(1),
    "MXN": Fraction(17),
    "EUR": Fraction(92, 100),
}
FEE_PERCENT = 1


class QuoteMathError(ValueError):
    pass


@dataclass(frozen=True)
class Asset:
    code: str
    scale: int


@dataclass(frozen=True)
class Quoted:
    debit: int
    receive: int
    fee: int


def rate(source: Asset, target: Asset) -> Fraction:
    """Target minor units per source minor unit."""
    if source.code not in RATES_PER_USD or target.code not in RATES_PER_USD:
        raise QuoteMathError(f"no exchange rate between {source.code} and {target.code}")
    per_major = RATES_PER_USD[target.code] / RATES_PER_USD[source.code]
    return per_major * Fraction(10**target.scale, 10**source.scale)


def fee_for(sent: int) -> int:
    return max(1, math.ceil(Fraction(sent * FEE_PERCENT, 100)))


def from_debit(debit: int, source: Asset, target: Asset) -> Quoted:
    """Fixed send: the largest amount to send whose fee still fits in `debit`."""
    sent = (debit * 100) // (100 + FEE_PERCENT)
    while sent + 1 + fee_for(sent + 1) <= debit:
        sent += 1
    while sent > 0 and sent + fee_for(sent) > debit:
        sent -= 1
    receive = math.floor(sent * rate(source, target)) if sent > 0 else 0
    if receive <= 0:
        raise QuoteMathError("debitAmount is too small to deliver anything after fees")
    return Quoted(debit=debit, receive=receive, fee=debit - sent)


def from_receive(receive: int, source: Asset, target: Asset) -> Quoted:
    """Fixed receive: the smallest amount to send that delivers at least `receive`."""
    if receive <= 0:
        raise QuoteMathError("receiveAmount must be positive")
    sent = math.ceil(receive / rate(source, target))
    fee = fee_for(sent)
    return Quoted(debit=sent + fee, receive=receive, fee=fee)
