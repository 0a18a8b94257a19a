"""Tokens of a message: words, numbers, currency symbols, and recipients written as-is.

URLs, payment pointers and phone numbers are found first and kept whole ("special" tokens), so
the rest of the parser never splits "$wallet.example/bob" or "+52 55 1234 5678".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llm_back.numbers import NUMBER_WORDS, fold
from shared.wallet_address import wallet_address_spans

TRAIL = ".,;:!?)]}»\"'"
_PHONE = re.compile(
    r"(?<![\w$.,])(?:\+\d[\d \t().-]{6,}\d"
    r"|\(?\d{2,4}\)?[ .-]\d{3,4}[ .-]\d{3,4}(?:[ .-]\d{2,4})?|\d{10,15})(?![\w])"
)
_TOKEN = re.compile(
    r"(?P<special>\x00+)"
    r"|(?P<sym>US\$|MX\$|[$€£])"
    r"|(?P<num>\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?(?![\d.,])|\d+(?:[.,']\d+)*)"
    r"|(?P<word>[^\W\d_]+(?:['’-][^\W\d_]+)*)"
    r"|(?P<punct>\S)"
)


@dataclass(frozen=True)
class Tok:
    kind: str  # special | sym | num | word | punct
    text: str  # as written
    low: str  # folded
    start: int
    end: int


def find_specials(text: str) -> list[tuple[int, int]]:
    """Spans of URLs, payment pointers and phone numbers (recipients written as-is).

    What counts as a wallet address is `shared.wallet_address`'s rule, as in every service.
    """
    spans = wallet_address_spans(text)
    for m in _PHONE.finditer(text):
        start, end = m.start(), m.end()
        while end > start and text[end - 1] in TRAIL:
            end -= 1
        if not _phone_ok(text[start:end]):
            continue
        if any(s <= start < e or start <= s < end for s, e in spans):
            continue
        spans.append((start, end))
    return sorted(spans)


def _phone_ok(raw: str) -> bool:
    digits = sum(c.isdigit() for c in raw)
    return 8 <= digits <= 15 if raw.startswith("+") else 10 <= digits <= 15


def tokenize(text: str, specials: list[tuple[int, int]]) -> list[Tok]:
    masked = list(text.replace("\x00", " "))  # NUL marks special spans below
    for s, e in specials:
        masked[s:e] = "\x00" * (e - s)
    folded = fold(text)
    toks = []
    for m in _TOKEN.finditer("".join(masked)):
        kind = m.lastgroup or "punct"
        start, end = m.span()
        low = folded[start:end]
        if kind == "word" and "-" in low and all(p in NUMBER_WORDS for p in low.split("-")):
            # "thirty-five": the parts, as number words; "Jean-Pierre" stays one name.
            for part in re.finditer(r"[^-]+|-", low):
                a, b = start + part.start(), start + part.end()
                sub = "punct" if part.group() == "-" else "word"
                toks.append(Tok(sub, text[a:b], folded[a:b], a, b))
            continue
        toks.append(Tok(kind, text[start:end], low, start, end))
    return toks


def index_of(toks: list[Tok], tok: Tok) -> int:
    return next(i for i, t in enumerate(toks) if t is tok)


def prev_word(toks: list[Tok], i: int) -> int | None:
    return i - 1 if i > 0 and toks[i - 1].kind == "word" else None


def next_word(toks: list[Tok], i: int) -> int | None:
    return i + 1 if i + 1 < len(toks) and toks[i + 1].kind == "word" else None
