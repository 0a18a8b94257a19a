"""Amounts as people write them: digits in both conventions, number words, multipliers.

Everything here is pure and deterministic. Amounts are `Decimal`, never float; `to_text`
renders them as the plain decimal strings the internal contract uses ("1500.50", "20").
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation


def fold(text: str) -> str:
    """Lower-case and strip accents *one character for one character*, so spans line up.

    "Mándale" → "mandale": an index into the folded text is an index into the original.
    """
    out = []
    for ch in text:
        base = unicodedata.normalize("NFD", ch)[0].lower()
        out.append(base[0] if base else ch)
    return "".join(out)


# Spanish and English number words (folded) → value. "ciento"/"cien" add, "hundred" multiplies.
UNITS: dict[str, int] = {
    # Spanish
    "cero": 0, "un": 1, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
    "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12,
    "trece": 13, "catorce": 14, "quince": 15, "dieciseis": 16, "diecisiete": 17,
    "dieciocho": 18, "diecinueve": 19, "veinte": 20, "veintiun": 21, "veintiuno": 21,
    "veintiuna": 21, "veintidos": 22, "veintitres": 23, "veinticuatro": 24,
    "veinticinco": 25, "veintiseis": 26, "veintisiete": 27, "veintiocho": 28,
    "veintinueve": 29, "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60,
    "setenta": 70, "ochenta": 80, "noventa": 90, "cien": 100, "ciento": 100,
    "doscientos": 200, "doscientas": 200, "trescientos": 300, "trescientas": 300,
    "cuatrocientos": 400, "cuatrocientas": 400, "quinientos": 500, "quinientas": 500,
    "seiscientos": 600, "seiscientas": 600, "setecientos": 700, "setecientas": 700,
    "ochocientos": 800, "ochocientas": 800, "novecientos": 900, "novecientas": 900,
    # English
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
HUNDRED = frozenset({"hundred"})
THOUSANDS: dict[str, int] = {
    "mil": 1000, "thousand": 1000, "grand": 1000, "k": 1000,
    "millon": 1_000_000, "millones": 1_000_000, "million": 1_000_000, "millions": 1_000_000,
}  # fmt: skip
# Words that are numbers only in front of a multiplier or a currency: "un dólar", "a hundred".
WEAK_ONES = frozenset({"un", "una", "uno", "one", "a", "an"})
NUMBER_WORDS = frozenset(UNITS) | HUNDRED | (frozenset(THOUSANDS) - {"k"})

_PLAIN = re.compile(r"^\d+$")


def words_value(words: list[str]) -> Decimal | None:
    """["mil", "quinientos"] → 1500; ["a", "hundred"] → 100; ["thirty", "five"] → 35."""
    total = 0
    current = 0
    seen = False
    for word in words:
        if word in {"a", "an"}:
            current += 1
        elif word in UNITS:
            current += UNITS[word]
        elif word in HUNDRED:
            current = (current or 1) * 100
        elif word in THOUSANDS:
            total += (current or 1) * THOUSANDS[word]
            current = 0
        else:
            return None
        seen = True
    if not seen:
        return None
    return Decimal(total + current)


def digits_value(raw: str, *, dot_decimal: bool = False) -> Decimal | None:
    """Digits in either convention → Decimal.

    "1.500,50" and "1,500.50" → 1500.50; "0,75" → 0.75; "1,500" and "1.500" → 1500 (three digits
    after a single separator read as grouping, as both conventions write thousands); "20,5" → 20.5.
    With `dot_decimal` (English text) a single dot is always the decimal point: "10.999" → 10.999.
    """
    s = raw.strip().replace("'", "").replace("\u202f", "").replace("\u00a0", "").replace(" ", "")
    if not s or not s[0].isdigit():
        return None
    commas, dots = s.count(","), s.count(".")
    if commas and dots:
        decimal_sep = "," if s.rfind(",") > s.rfind(".") else "."
        group_sep = "." if decimal_sep == "," else ","
        whole, _, frac = s.rpartition(decimal_sep)
        if group_sep not in whole or decimal_sep in whole or not _grouped(whole, group_sep):
            return None
        return _dec(whole.replace(group_sep, ""), frac)
    sep = "," if commas else "." if dots else ""
    if not sep:
        return _dec(s, "")
    parts = s.split(sep)
    if len(parts) > 2:  # "1.500.000" / "1,500,000": grouping only
        return _dec(s.replace(sep, ""), "") if _grouped(s, sep) else None
    whole, frac = parts
    if (
        len(frac) == 3
        and whole != "0"
        and not whole.startswith("0")
        and not (dot_decimal and sep == ".")
    ):
        return _dec(whole + frac, "")  # "1,500" / "1.500": thousands
    return _dec(whole, frac)


def _grouped(whole: str, sep: str) -> bool:
    groups = whole.split(sep)
    return (
        1 <= len(groups[0]) <= 3
        and all(len(g) == 3 for g in groups[1:])
        and all(g.isdigit() for g in groups)
    )


def _dec(whole: str, frac: str) -> Decimal | None:
    if not _PLAIN.match(whole) or (frac and not _PLAIN.match(frac)):
        return None
    try:
        return Decimal(f"{whole}.{frac}" if frac else whole)
    except InvalidOperation:  # pragma: no cover - the regexes guarantee digits
        return None


def to_text(value: Decimal) -> str:
    """Decimal → plain decimal string without exponent: 1500.50 → "1500.50", 1E+3 → "1000"."""
    text = format(value, "f")
    if "." in text and value == value.to_integral_value() and value.as_tuple().exponent != -2:
        # 1.5k computed as 1500.0: drop the artificial fraction, keep "20.50" as written.
        text = text.rstrip("0").rstrip(".")
    return text
