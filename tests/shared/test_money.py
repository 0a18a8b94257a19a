"""Money helpers: exact round trips at every scale, and clear errors on bad input."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.money import (
    MAX_SCALE,
    Amount,
    MoneyError,
    format_amount,
    from_minor_units,
    parse_decimal,
    to_minor_units,
)


@pytest.mark.parametrize(
    ("text", "scale", "minor"),
    [
        ("20", 2, 2000),
        ("20.5", 2, 2050),
        ("20.50", 2, 2050),
        ("0.01", 2, 1),
        ("0", 0, 0),
        ("7", 0, 7),
        ("1.000", 0, 1),  # trailing zeros past the scale are not lost digits
        ("0.000000000000000001", 18, 1),
        ("123456789012345678901234567890.5", 1, 1234567890123456789012345678905),
        (" 3.25 ", 2, 325),
        ("-4.10", 2, -410),
    ],
)
def test_to_minor_units(text: str, scale: int, minor: int) -> None:
    assert to_minor_units(text, scale) == minor


@pytest.mark.parametrize(
    ("minor", "scale", "text"),
    [
        (2050, 2, "20.50"),
        (1, 2, "0.01"),
        (0, 2, "0.00"),
        (5, 0, "5"),
        (1, 18, "0.000000000000000001"),
        ("1120", 2, "11.20"),
        (-410, 2, "-4.10"),
    ],
)
def test_from_minor_units(minor: int | str, scale: int, text: str) -> None:
    assert from_minor_units(minor, scale) == text


@given(minor=st.integers(min_value=0, max_value=10**30), scale=st.integers(0, MAX_SCALE))
def test_round_trip_every_scale(minor: int, scale: int) -> None:
    text = from_minor_units(minor, scale)
    assert to_minor_units(text, scale) == minor
    with localcontext() as ctx:
        ctx.prec = 60  # the default 28 digits would round the reference itself
        assert Decimal(text) == Decimal(minor).scaleb(-scale)
    amount = Amount.from_decimal(text, "USD", scale)
    assert amount.minor == minor
    assert amount.to_decimal_string() == text


@pytest.mark.parametrize("scale", range(MAX_SCALE + 1))
def test_smallest_unit_at_each_scale(scale: int) -> None:
    smallest = from_minor_units(1, scale)
    assert to_minor_units(smallest, scale) == 1
    with pytest.raises(MoneyError, match="decimal places"):
        to_minor_units(smallest + ("1" if scale else ".1"), scale)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        " ",
        "abc",
        "1e3",
        "1E-2",
        "1,50",
        "1.2.3",
        "+5",
        ".5",
        "5.",
        "NaN",
        "Infinity",
        "--1",
        "1 000",
        "٣",
    ],
)
def test_bad_amount_strings(bad: str) -> None:
    with pytest.raises(MoneyError):
        to_minor_units(bad, 2)


@pytest.mark.parametrize("bad", [20.5, 1, None, b"20", True])
def test_non_strings_are_refused(bad: object) -> None:
    with pytest.raises(MoneyError, match="decimal string"):
        parse_decimal(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("scale", [-1, 19, 2.0, True, "2"])
def test_bad_scales(scale: object) -> None:
    with pytest.raises(MoneyError, match="asset scale"):
        to_minor_units("1", scale)  # type: ignore[arg-type]
    with pytest.raises(MoneyError, match="asset scale"):
        from_minor_units(1, scale)  # type: ignore[arg-type]


def test_too_many_decimals_is_an_error_not_a_rounding() -> None:
    with pytest.raises(MoneyError, match="more than 2 decimal places"):
        to_minor_units("20.505", 2)


@pytest.mark.parametrize("bad", ["1.5", "abc", "", 1.5, True])
def test_bad_minor_unit_values(bad: object) -> None:
    with pytest.raises(MoneyError):
        from_minor_units(bad, 2)  # type: ignore[arg-type]


def test_decimal_input_is_exact() -> None:
    assert to_minor_units(Decimal("10.10"), 2) == 1010
    with pytest.raises(MoneyError):
        to_minor_units(Decimal("NaN"), 2)


def test_format_amount_normalizes() -> None:
    assert format_amount("20.5", 2) == "20.50"
    assert format_amount("20", 0) == "20"


def test_amount_model_wire_shape() -> None:
    amount = Amount.from_decimal("11.20", "USD", 2)
    assert amount.to_wire() == {"value": "1120", "assetCode": "USD", "assetScale": 2}
    assert Amount.model_validate(amount.to_wire()) == amount
    assert str(amount) == "11.20 USD"
    with pytest.raises(MoneyError, match="negative"):
        Amount.from_decimal("-1", "USD", 2)
    with pytest.raises(ValueError, match="assetCode"):
        Amount.model_validate({"value": "1", "assetCode": "usd", "assetScale": 2})
    with pytest.raises(ValueError):
        Amount.model_validate({"value": "1.5", "assetCode": "USD", "assetScale": 2})


def test_absurdly_long_amounts_are_money_errors_not_crashes() -> None:
    # issue 14 (7): 4,300 digits is past what Python converts to an int: that was a 500.
    from pydantic import ValidationError

    from shared.contracts import SendPaymentRequest, UnderstandResponse
    from shared.money import MAX_DIGITS, MoneyError, from_minor_units, parse_decimal

    huge = "9" * 4300
    for call in (
        lambda: parse_decimal(huge),
        lambda: to_minor_units(huge, 2),
        lambda: from_minor_units(huge, 2),
        lambda: to_minor_units(Decimal(huge), 2),
    ):
        with pytest.raises(MoneyError, match=f"more than {MAX_DIGITS} digits"):
            call()
    with pytest.raises(ValidationError, match="more than 40 digits"):
        SendPaymentRequest.model_validate(
            {
                "senderWalletUrl": "https://a.example/x",
                "receiverWalletUrl": "https://b.example/y",
                "amount": huge,
            }
        )
    with pytest.raises(ValidationError, match="more than 40 digits"):
        UnderstandResponse.model_validate({"intent": "send_payment", "monto": huge, "response": ""})
    with pytest.raises(ValidationError, match="cannot be negative"):
        UnderstandResponse.model_validate({"intent": "send_payment", "monto": "-5", "response": ""})
