"""Money: decimal strings ↔ integer minor units, exactly, never through a float.

Open Payments amounts are `{value: "<integer string>", assetCode, assetScale}`; people and the
internal API speak decimal strings like "20.50". These helpers convert between the two and
refuse anything that would lose a digit.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_SCALE = 18
# Digits an amount may have in all. Open Payments amounts are unsigned 64-bit integers (20
# digits); 40 leaves room for any scale while keeping absurd input (a 4,300-digit "amount" is
# past what Python will even convert to an int) a clear MoneyError instead of a crash.
MAX_DIGITS = 40
# Plain decimal notation only: no exponent, no sign other than '-', no thousands separators.
_DECIMAL_RE = re.compile(r"^-?([0-9]+)(\.([0-9]+))?$")  # ASCII digits only
_ASSET_CODE_RE = re.compile(r"^[A-Z0-9]{1,12}$")


class MoneyError(ValueError):
    """An amount that cannot be represented exactly, or is not an amount at all."""


def _check_scale(scale: int) -> None:
    if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= MAX_SCALE:
        raise MoneyError(f"asset scale must be an integer from 0 to {MAX_SCALE}, got {scale!r}")


def check_asset(code: object, scale: object) -> None:
    """MoneyError unless `code` is 1-12 upper-case letters or digits and `scale` 0-18: what a
    wallet document may say about its asset (both end up inside our messages)."""
    if not isinstance(code, str) or not _ASSET_CODE_RE.match(code):
        raise MoneyError(f"asset code must be 1-12 upper-case letters or digits, got {code!r:.40}")
    _check_scale(scale)  # type: ignore[arg-type]  # checked at run time


def parse_decimal(text: str | Decimal) -> Decimal:
    """Parse "20", "20.5", "0.75" into a Decimal. Floats and exotic notations are refused."""
    if isinstance(text, Decimal):
        if not text.is_finite():
            raise MoneyError("amount must be a finite number")
        if len(text.as_tuple().digits) > MAX_DIGITS:
            raise MoneyError(f"amount has more than {MAX_DIGITS} digits")
        return text
    if not isinstance(text, str):
        raise MoneyError(f"amount must be a decimal string, got {type(text).__name__}")
    s = text.strip()
    if len(s) > MAX_DIGITS + 2:  # digits, a sign and a point
        raise MoneyError(f"amount has more than {MAX_DIGITS} digits")
    if not _DECIMAL_RE.match(s):
        raise MoneyError(f"{text[:50]!r} is not a decimal amount like '20' or '20.50'")
    try:
        return Decimal(s)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guarantees validity
        raise MoneyError(f"{text!r} is not a decimal amount") from exc


def to_minor_units(amount: str | Decimal, scale: int) -> int:
    """ "20.50" at scale 2 → 2050. More decimals than the scale allows → MoneyError.

    Works on the digits themselves rather than Decimal arithmetic, which rounds past 28 digits.
    """
    _check_scale(scale)
    value = parse_decimal(amount)  # refuses floats, exponents and anything else odd
    text = format(value, "f") if isinstance(amount, Decimal) else str(amount).strip()
    match = _DECIMAL_RE.match(text)
    if match is None:
        raise MoneyError(f"{amount!r} is not a decimal amount like '20' or '20.50'")
    whole, fraction = match.group(1), match.group(3) or ""
    if fraction[scale:].strip("0"):
        raise MoneyError(f"{amount} has more than {scale} decimal places")
    minor = int(whole + fraction[:scale].ljust(scale, "0"))
    return -minor if text.startswith("-") else minor


def from_minor_units(value: int | str, scale: int) -> str:
    """2050 at scale 2 → "20.50"; always exactly `scale` decimals."""
    _check_scale(scale)
    if isinstance(value, bool):
        raise MoneyError("amount value must be an integer")
    if isinstance(value, str):
        if len(value.strip()) > MAX_DIGITS + 1:
            raise MoneyError(f"amount has more than {MAX_DIGITS} digits")
        if not re.fullmatch(r"-?[0-9]+", value.strip()):
            raise MoneyError(f"amount value must be an integer string, got {value[:50]!r}")
        value = int(value.strip())
    elif not isinstance(value, int):
        raise MoneyError(f"amount value must be an integer, got {type(value).__name__}")
    if abs(value).bit_length() > 140:  # about 42 digits
        raise MoneyError(f"amount has more than {MAX_DIGITS} digits")
    negative = value < 0
    digits = str(abs(value)).rjust(scale + 1, "0")
    text = digits if scale == 0 else f"{digits[:-scale]}.{digits[-scale:]}"
    return f"-{text}" if negative else text


def format_amount(amount: str | Decimal, scale: int) -> str:
    """Normalize a decimal string to exactly `scale` places: ("20.5", 2) → "20.50"."""
    return from_minor_units(to_minor_units(amount, scale), scale)


class Amount(BaseModel):
    """An Open Payments amount: an integer string of minor units with its asset."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    value: str = Field(
        pattern=r"^[0-9]+$", max_length=MAX_DIGITS, description="Integer string of minor units"
    )
    asset_code: str = Field(alias="assetCode")
    asset_scale: int = Field(alias="assetScale", ge=0, le=255)

    @field_validator("asset_code")
    @classmethod
    def _code(cls, v: str) -> str:
        if not _ASSET_CODE_RE.match(v):
            raise ValueError("assetCode must be 1-12 upper-case letters or digits")
        return v

    @classmethod
    def from_decimal(cls, amount: str | Decimal, asset_code: str, asset_scale: int) -> Amount:
        minor = to_minor_units(amount, asset_scale)
        if minor < 0:
            raise MoneyError("an Open Payments amount cannot be negative")
        return cls(value=str(minor), asset_code=asset_code, asset_scale=asset_scale)

    @property
    def minor(self) -> int:
        return int(self.value)

    def to_decimal_string(self) -> str:
        return from_minor_units(self.value, self.asset_scale)

    def to_decimal(self) -> Decimal:
        return Decimal(self.to_decimal_string())

    def to_wire(self) -> dict[str, str | int]:
        return {"value": self.value, "assetCode": self.asset_code, "assetScale": self.asset_scale}

    def __str__(self) -> str:
        return f"{self.to_decimal_string()} {self.asset_code}"
