"""Amounts as written in a message: digits, number words, multipliers, cents, currency, sign.

What was *said*; `amounts.settle` decides what of it can be used.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from llm_back import lexicon as lx
from llm_back.numbers import HUNDRED, THOUSANDS, UNITS, WEAK_ONES, digits_value, words_value
from llm_back.tokens import Tok

_CENTS = frozenset({"centavos", "centavo", "cents", "cent", "centimos", "centimo"})
_WORD_STARTS = frozenset({"mil", "millon"})  # "mil quinientos" starts with its multiplier
_MULTIPLIERS = HUNDRED | frozenset(THOUSANDS)


@dataclass(frozen=True)
class Amount:
    value: Decimal
    currency: str | None
    first: int  # token indexes, inclusive
    last: int
    marked: bool  # had a currency, a symbol or a multiplier


def pick_amount(toks: list[Tok], found: list[Amount]) -> Amount | None:
    """The amount meant: the first one marked as money, else the first plain number."""
    money = [a for a in found if not not_money(toks, a)]
    marked = [a for a in money if a.marked]
    chosen = marked or money
    return chosen[0] if chosen else None


def find_amounts(toks: list[Tok], lang: str, home: str | None) -> list[Amount]:
    """Every amount written, in order; a "-" or "menos" in front makes it negative."""
    out: list[Amount] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        value: Decimal | None = None
        last = i
        if t.kind == "num":
            # One dot and three digits: thousands in Spanish ("1.500"), decimals in English
            # and Mexico ("10.999", refused later as too precise rather than read as 10999).
            dot = lang == "en" or home in lx.DOT_DECIMAL_HOMES
            value = digits_value(t.text, dot_decimal=dot and not t.text.endswith(".000"))
        elif t.kind == "word" and (
            t.low in UNITS or t.low in WEAK_ONES or t.low in HUNDRED or t.low in _WORD_STARTS
        ):
            words, last = number_words(toks, i)
            value = words_value(words) if words else None
            if words == ["once"] and not _money_follows(toks, last + 1):
                value = None  # English "once", not Spanish eleven
            lone_one = len(words) == 1 and words[0] in WEAK_ONES | {"uno", "una"}
            if value is not None and lone_one and not _money_follows(toks, last + 1):
                value = None  # "un beso", "a friend": not numbers
        if value is None:
            i += 1
            continue
        amount = _finish_amount(toks, i, last, value, home)
        if _minus_before(toks, amount.first):
            amount = replace(amount, value=-amount.value, first=amount.first - 1, marked=True)
        out.append(amount)
        i = amount.last + 1
    return out


def _minus_before(toks: list[Tok], first: int) -> bool:
    """ "-5", "$-5", "menos 5", "minus 5" (but not "20-30" or a hyphenated word)."""
    if first == 0:
        return False
    prev = toks[first - 1]
    if prev.low in {"menos", "minus"}:
        return True
    if prev.text not in {"-", "−"} or prev.end != toks[first].start:
        return False
    return first == 1 or toks[first - 2].end < prev.start or toks[first - 2].kind == "sym"


def number_words(toks: list[Tok], i: int) -> tuple[list[str], int]:
    """Read "treinta y cinco", "mil quinientos", "a hundred", "thirty-five" from token i."""
    words: list[str] = []
    last = i
    j = i
    while j < len(toks):
        t = toks[j]
        low = t.low
        if t.kind == "word" and (low in UNITS or low in HUNDRED or low in THOUSANDS):
            if low == "k":
                break
            words.append(low)
            last = j
        elif t.kind == "word" and low in WEAK_ONES and not words:
            words.append(low)
            last = j
            if low in {"a", "an"} and j + 1 < len(toks) and toks[j + 1].low in lx.CURRENCY_WORDS:
                return ["one"], j  # "a buck", "a dollar"
        elif words and (low in {"y", "and"} or t.text == "-") and j + 1 < len(toks):
            nxt = toks[j + 1].low
            if nxt not in UNITS and nxt not in HUNDRED:
                break
        else:
            break
        j += 1
    if words and words[0] in {"a", "an"} and (len(words) == 1 or words[1] not in _MULTIPLIERS):
        return [], i  # "a" is a preposition unless it reads "a hundred", "a thousand"
    return words, last


def _money_follows(toks: list[Tok], j: int) -> bool:
    if j >= len(toks):
        return False
    t = toks[j]
    return (
        t.low in lx.CURRENCY_WORDS
        or t.low in THOUSANDS
        or t.low in HUNDRED
        or t.low in lx.SLANG_THOUSANDS
    )


def _finish_amount(
    toks: list[Tok], first: int, last: int, value: Decimal, home: str | None
) -> Amount:
    """Extend an amount with what follows or precedes it: "k", "mil", "lucas", "pesos", "$"."""
    currency: str | None = None
    marked = False
    j = last + 1
    if j < len(toks) and toks[j].kind == "word":
        low = toks[j].low
        if low in THOUSANDS:
            value *= THOUSANDS[low]
            last, marked, j = j, True, j + 1
        elif low in lx.SLANG_THOUSANDS:
            return Amount(value * 1000, _peso(home), first, j, True)
        elif low in _CENTS:
            return Amount(value.scaleb(-2), None, first, j, True)  # "50 centavos" → 0.50
    if (cents := _cents_after(toks, j)) is not None:
        value, last, j = value + cents[0], cents[1], cents[1] + 1  # "veinte con cincuenta"
    if j + 1 < len(toks) and toks[j].low == "de" and _currency_of(toks[j + 1], home) is not None:
        j += 1  # "un millón de pesos"
    if j < len(toks) and (code := _currency_of(toks[j], home)) is not None:
        if (cents := _cents_after(toks, j + 1)) is not None:
            return Amount(value + cents[0], code, first, cents[1], True)  # "20 dólares con 50"
        return Amount(value, code, first, j, True)
    if first > 0 and (code := _currency_of(toks[first - 1], home)) is not None:
        return Amount(value, code, first - 1, last, True)
    return Amount(value, currency, first, last, marked)


def _cents_after(toks: list[Tok], j: int) -> tuple[Decimal, int] | None:
    """ "con 50" / "con cincuenta" / "and 50 cents" / "y 50 centavos" at token j.

    (0.50, last index) or None. After "y"/"and" the word for cents is required: "20 a Bob y 10
    a Alice" is two payments, not 20.10.
    """
    if j + 1 >= len(toks) or toks[j].low not in {"con", "y", "and"}:
        return None
    t = toks[j + 1]
    last = j + 1
    if t.kind == "num" and t.text.isdigit() and len(t.text) <= 2:
        cents: Decimal | None = Decimal(t.text)
    elif t.kind == "word" and t.low in UNITS:
        words, last = number_words(toks, j + 1)
        cents = words_value(words)
    else:
        return None
    if cents is None or not 0 < cents < 100:
        return None
    if last + 1 < len(toks) and toks[last + 1].low in _CENTS:
        last += 1
    elif toks[j].low != "con":
        return None
    return cents.scaleb(-2), last


def _peso(home: str | None) -> str | None:
    return home if home in lx.PESO_CODES else None


def _currency_of(t: Tok, home: str | None = None) -> str | None:
    """The currency a token names; "$" and "pesos" are the user's own when that is a peso."""
    if t.kind == "sym":
        if t.text == "$":
            return _peso(home) or "USD"
        return lx.CURRENCY_SYMBOLS.get(t.text)
    if t.kind != "word":
        return None
    if t.low in lx.PESO_WORDS:
        return _peso(home) or lx.CURRENCY_WORDS[t.low]
    if t.low in lx.CURRENCY_WORDS:
        return lx.CURRENCY_WORDS[t.low]
    if t.text in lx.CURRENCY_CODES:
        return t.text
    return None


def not_money(toks: list[Tok], a: Amount) -> bool:
    """Ages, times, counts: "20 años", "a las 5", "at 5pm", "3 tacos", "5:30"."""
    if a.currency is not None:
        return False
    nxt = toks[a.last + 1] if a.last + 1 < len(toks) else None
    prev = toks[a.first - 1] if a.first > 0 else None
    if nxt is not None and (nxt.low in lx.NOT_MONEY_AFTER or nxt.text in {":", "%", "/", "°"}):
        return True
    if prev is not None and (prev.low in lx.NOT_MONEY_BEFORE or prev.text in {"#", ":", "/"}):
        return True
    return (
        nxt is not None
        and nxt.kind == "word"
        and nxt.start == toks[a.last].end
        and (nxt.low in {"st", "nd", "rd", "th", "do", "ro", "vo", "to", "a", "o"})
    )
