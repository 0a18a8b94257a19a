"""Quote arithmetic is exact: integers in, integers out, the fee always visible and fair."""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from sandbox.wallet.fx import (
    RATES_PER_USD,
    Asset,
    QuoteMathError,
    fee_for,
    from_debit,
    from_receive,
)

assets = st.sampled_from([Asset("USD", 2), Asset("MXN", 2), Asset("EUR", 2), Asset("USD", 0)])
amounts = st.integers(min_value=1, max_value=10**15)


def _convert(sent: int, source: Asset, target: Asset) -> Fraction:
    major = Fraction(sent, 10**source.scale) / RATES_PER_USD[source.code]
    return major * RATES_PER_USD[target.code] * Fraction(10**target.scale)


@given(amounts, assets, assets)
def test_fixed_send_spends_exactly_the_debit(debit: int, source: Asset, target: Asset):
    try:
        quoted = from_debit(debit, source, target)
    except QuoteMathError:
        return
    sent = debit - quoted.fee
    assert quoted.debit == debit
    # When no amount plus its fee lands exactly on the debit, the odd unit is part of the fee.
    assert fee_for(sent) <= quoted.fee <= fee_for(sent) + 1
    assert quoted.receive == math.floor(_convert(sent, source, target))
    # The largest amount whose fee still fits: one more unit would overspend.
    assert sent + 1 + fee_for(sent + 1) > debit


@given(amounts, assets, assets)
def test_fixed_receive_delivers_at_least_the_amount_for_the_least_debit(
    receive: int, source: Asset, target: Asset
):
    quoted = from_receive(receive, source, target)
    sent = quoted.debit - quoted.fee
    assert quoted.receive == receive
    assert _convert(sent, source, target) >= receive
    assert sent == 1 or _convert(sent - 1, source, target) < receive
    assert quoted.fee == fee_for(sent)


def test_examples():
    usd, mxn = Asset("USD", 2), Asset("MXN", 2)
    assert from_receive(2000, usd, usd).debit == 2020
    assert from_debit(2020, usd, usd).receive == 2000
    assert from_debit(1010, usd, mxn).receive == 17000
    assert fee_for(1) == 1
