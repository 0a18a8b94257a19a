"""The offline parser: Spanish and English messages → intent, amount, currency, recipient.

Used when no OpenAI key is set, and as the fallback when OpenAI fails. Deterministic and fast
(a few regexes over a short token list). The recipient is returned exactly as written — a name,
a payment pointer, an https wallet URL or a phone number — without the words around it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal

from llm_back import lexicon as lx
from llm_back.numbers import (
    HUNDRED,
    NUMBER_WORDS,
    THOUSANDS,
    UNITS,
    WEAK_ONES,
    digits_value,
    fold,
    to_text,
    words_value,
)
from shared.contracts import Intent
from shared.wallet_address import wallet_address_spans

_TRAIL = ".,;:!?)]}»\"'"
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
_CENTS = frozenset({"centavos", "centavo", "cents", "cent", "centimos", "centimo"})
_WORD_STARTS = frozenset({"mil", "millon"})  # "mil quinientos" starts with its multiplier
_MULTIPLIERS = HUNDRED | frozenset(THOUSANDS)
_MAKE_TRANSFER = re.compile(
    r"\b(?:haz|hazle|hacer|hacerle|realiza|realizar|quiero hacer)\s+(?:una|un)\s+"
    r"(?:transferencia|pago|envio|deposito)\b|\bmake\s+a\s+(?:payment|transfer)\b"
)


@dataclass(frozen=True)
class Parsed:
    intent: Intent
    monto: str | None = None
    currency: str | None = None
    destinatario: str | None = None
    language: str = "es"
    repeat: bool = False  # "otros 10", "again": the previous recipient is meant


@dataclass(frozen=True)
class _Tok:
    kind: str  # special | sym | num | word | punct
    text: str  # as written
    low: str  # folded
    start: int
    end: int


@dataclass(frozen=True)
class _Amount:
    value: Decimal
    currency: str | None
    first: int  # token indexes, inclusive
    last: int
    marked: bool  # had a currency, a symbol or a multiplier


def parse(text: str, language: str | None = None) -> Parsed:
    """Understand one message on its own (memory merges follow-ups elsewhere)."""
    specials = _specials(text)
    toks = _tokenize(text, specials)
    folded = fold(text)
    lang = detect_language(toks, language)
    words = [t.low for t in toks if t.kind == "word"]
    if not words and not any(t.kind in {"num", "special"} for t in toks):
        return Parsed(Intent.OTHER, language=lang)
    phrase = " ".join(words)

    intent = _keyword_intent(words, phrase)
    if intent is not None:
        return Parsed(intent, language=lang)
    verb = _pay_verb(toks)
    if verb is None and _MAKE_TRANSFER.search(folded):
        verb = -1
    if verb is not None and _negated(toks, verb):
        return Parsed(Intent.CANCEL, language=lang)
    amount = _pick_amount(toks)
    start = verb if verb is not None and verb >= 0 else 0
    recipient = _recipient(text, toks, specials, start, lang, direct=verb is not None)
    if verb is None and not _terse_payment(toks, amount, recipient):
        if any(w in lx.GREETINGS for w in words[:2]):
            return Parsed(Intent.GREETING, language=lang)
        if _confirmation(words, phrase):
            return Parsed(Intent.CONFIRM, language=lang)
        return Parsed(Intent.OTHER, language=lang)
    return Parsed(
        Intent.SEND_PAYMENT,
        monto=to_text(amount.value) if amount else None,
        currency=amount.currency if amount else None,
        destinatario=recipient,
        language=lang,
        repeat=any(w in lx.REPEAT_WORDS for w in words),
    )


def parse_fragment(text: str, language: str | None = None) -> Parsed:
    """A follow-up such as "to Bob", "a María", "20" or "Bob": the fields it supplies, if any."""
    whole = parse(text, language)
    if whole.intent is Intent.SEND_PAYMENT:
        return whole
    specials = _specials(text)
    toks = _tokenize(text, specials)
    amount = _pick_amount(toks)
    recipient = _recipient(text, toks, specials, 0, whole.language, direct=False)
    if recipient is None:
        words = [t for t in toks if t.kind == "word"]
        if words:
            # Only a bare capitalized name ("Bob", "María José"): a lone lowercase word is more
            # often "jaja" or "ok" than a person, and a sentence is not a name.
            name = _name_at(text, toks, _index(toks, words[0]), allow_lower=False)
            if name is not None and name == text.strip().strip(_TRAIL).strip():
                recipient = name
    return replace(
        whole,
        monto=to_text(amount.value) if amount else None,
        currency=amount.currency if amount else None,
        destinatario=recipient,
    )


def detect_language(toks: list[_Tok] | str, hint: str | None = None) -> str:
    """ "es" or "en" from marker words and Spanish punctuation; the hint breaks ties."""
    if isinstance(toks, str):
        toks = _tokenize(toks, _specials(toks))
    es = en = 0
    for t in toks:
        if t.kind == "word":
            es += t.low in lx.SPANISH_HINTS
            en += t.low in lx.ENGLISH_HINTS
            es += 2 * (t.low != t.text.lower() or "ñ" in t.text.lower())
        elif t.text in {"¿", "¡"}:
            es += 2
    if es == en:
        return hint or "es"
    return "es" if es > en else "en"


# ---------------------------------------------------------------- tokens


def _specials(text: str) -> list[tuple[int, int]]:
    """Spans of URLs, payment pointers and phone numbers (recipients written as-is).

    What counts as a wallet address is `shared.wallet_address`'s rule, as in every service.
    """
    spans = wallet_address_spans(text)
    for m in _PHONE.finditer(text):
        start, end = m.start(), m.end()
        while end > start and text[end - 1] in _TRAIL:
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


def _tokenize(text: str, specials: list[tuple[int, int]]) -> list[_Tok]:
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
                toks.append(_Tok(sub, text[a:b], folded[a:b], a, b))
            continue
        toks.append(_Tok(kind, text[start:end], low, start, end))
    return toks


def _index(toks: list[_Tok], tok: _Tok) -> int:
    return next(i for i, t in enumerate(toks) if t is tok)


# ---------------------------------------------------------------- intent


def _keyword_intent(words: list[str], phrase: str) -> Intent | None:
    """Help, cancel and history win over a payment verb: "how do I send money?" is help."""
    padded = f" {phrase} "
    if any(w in lx.HELP_WORDS for w in words) or any(
        f" {p} " in padded or padded.startswith(f" {p}") for p in lx.HELP_PHRASES
    ):
        return Intent.HELP
    if phrase == "no" or any(w in lx.CANCEL_WORDS for w in words):
        return Intent.CANCEL
    if any(f" {p} " in padded for p in lx.CANCEL_PHRASES):
        return Intent.CANCEL
    if any(w in lx.HISTORY_WORDS for w in words) or any(
        f" {p} " in padded for p in lx.HISTORY_PHRASES
    ):
        return Intent.HISTORY
    return None


def _confirmation(words: list[str], phrase: str) -> bool:
    """ "sí", "dale", "sí, dale", "yes please", "go ahead": a bare approval."""
    if phrase in lx.CONFIRM_PHRASES:
        return True
    polite = {"please", "porfa", "por", "favor", "pls"}
    return any(w in lx.CONFIRMATIONS for w in words) and all(
        w in lx.CONFIRMATIONS or w in polite for w in words
    )


def _pay_verb(toks: list[_Tok]) -> int | None:
    """Index of the first token that asks to move money, or None."""
    for i, t in enumerate(toks):
        if t.kind != "word" or t.low not in lx.PAY_VERBS:
            continue
        if t.low in lx.PAST_WHEN_ACCENTED and t.text[-1:].lower() in {"é", "ó", "í"}:
            continue  # "le mandé 20": a report about the past, not a request
        if t.low in lx.PAY_VERBS_EN:
            prev = _prev_word(toks, i)
            if prev is not None and toks[prev].low in lx.DETERMINERS_EN:
                continue  # "my pay", "the transfer": a noun
            nxt = _next_word(toks, i)
            if nxt is not None and toks[nxt].low in lx.SELF_OBJECTS:
                continue  # "send me 20": asking to receive, which Paguito cannot do
        return i
    return None


def _negated(toks: list[_Tok], verb: int) -> bool:
    if verb < 0:
        return False
    for j in range(verb - 1, max(-1, verb - 4), -1):
        if toks[j].kind == "punct":
            return False  # "No, mándale 30": a correction, not "don't send"
        if toks[j].kind == "word" and toks[j].low in lx.NEGATIONS:
            return True
    return False


def _terse_payment(toks: list[_Tok], amount: _Amount | None, recipient: str | None) -> bool:
    """ "20 a Bob", "$15 to $wallet.example/ana": an amount first, then to whom."""
    if amount is None or recipient is None or amount.first > 1:
        return False
    after = amount.last + 1
    return after < len(toks) and (
        toks[after].low in lx.RECIPIENT_MARKERS_STRONG | lx.RECIPIENT_MARKERS_WEAK
        or toks[after].kind == "special"
    )


def _prev_word(toks: list[_Tok], i: int) -> int | None:
    return i - 1 if i > 0 and toks[i - 1].kind == "word" else None


def _next_word(toks: list[_Tok], i: int) -> int | None:
    return i + 1 if i + 1 < len(toks) and toks[i + 1].kind == "word" else None


# ---------------------------------------------------------------- amounts


def _pick_amount(toks: list[_Tok]) -> _Amount | None:
    """The amount meant: the first one marked as money, else the first plain number."""
    found = [a for a in _amounts(toks) if not _not_money(toks, a)]
    found = [a for a in found if a.value > 0]
    marked = [a for a in found if a.marked]
    chosen = marked or found
    return chosen[0] if chosen else None


def _amounts(toks: list[_Tok]) -> list[_Amount]:
    out: list[_Amount] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        value: Decimal | None = None
        last = i
        if t.kind == "num":
            value = digits_value(t.text)
        elif t.kind == "word" and (
            t.low in UNITS or t.low in WEAK_ONES or t.low in HUNDRED or t.low in _WORD_STARTS
        ):
            words, last = _number_words(toks, i)
            value = words_value(words) if words else None
            if words == ["once"] and not _money_follows(toks, last + 1):
                value = None  # English "once", not Spanish eleven
            lone_one = len(words) == 1 and words[0] in WEAK_ONES | {"uno", "una"}
            if value is not None and lone_one and not _money_follows(toks, last + 1):
                value = None  # "un beso", "a friend": not numbers
        if value is None:
            i += 1
            continue
        out.append(_finish_amount(toks, i, last, value))
        i = out[-1].last + 1
    return out


def _number_words(toks: list[_Tok], i: int) -> tuple[list[str], int]:
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


def _money_follows(toks: list[_Tok], j: int) -> bool:
    if j >= len(toks):
        return False
    t = toks[j]
    return (
        t.low in lx.CURRENCY_WORDS
        or t.low in THOUSANDS
        or t.low in HUNDRED
        or t.low in lx.SLANG_THOUSANDS
    )


def _finish_amount(toks: list[_Tok], first: int, last: int, value: Decimal) -> _Amount:
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
            return _Amount(value * 1000, None, first, j, True)
        elif low in _CENTS:
            return _Amount(value.scaleb(-2), None, first, j, True)  # "50 centavos" → 0.50
    if (cents := _cents_after(toks, j)) is not None:
        value, last, j = value + cents[0], cents[1], cents[1] + 1  # "veinte con cincuenta"
    if j + 1 < len(toks) and toks[j].low == "de" and _currency_of(toks[j + 1]) is not None:
        j += 1  # "un millón de pesos"
    if j < len(toks) and (code := _currency_of(toks[j])) is not None:
        if (cents := _cents_after(toks, j + 1)) is not None:
            return _Amount(value + cents[0], code, first, cents[1], True)  # "20 dólares con 50"
        return _Amount(value, code, first, j, True)
    if first > 0 and (code := _currency_of(toks[first - 1])) is not None:
        return _Amount(value, code, first - 1, last, True)
    return _Amount(value, currency, first, last, marked)


def _cents_after(toks: list[_Tok], j: int) -> tuple[Decimal, int] | None:
    """ "con 50" / "con cincuenta" (Spanish for .50) at token j: (0.50, last index) or None."""
    if j + 1 >= len(toks) or toks[j].low != "con":
        return None
    t = toks[j + 1]
    last = j + 1
    if t.kind == "num" and t.text.isdigit() and len(t.text) <= 2:
        cents: Decimal | None = Decimal(t.text)
    elif t.kind == "word" and t.low in UNITS:
        words, last = _number_words(toks, j + 1)
        cents = words_value(words)
    else:
        return None
    if cents is None or not 0 < cents < 100:
        return None
    if last + 1 < len(toks) and toks[last + 1].low in _CENTS:
        last += 1
    return cents.scaleb(-2), last


def _currency_of(t: _Tok) -> str | None:
    if t.kind == "sym":
        return lx.CURRENCY_SYMBOLS.get(t.text)
    if t.kind != "word":
        return None
    if t.low in lx.CURRENCY_WORDS:
        return lx.CURRENCY_WORDS[t.low]
    if t.text in lx.CURRENCY_CODES:
        return t.text
    return None


def _not_money(toks: list[_Tok], a: _Amount) -> bool:
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


# ---------------------------------------------------------------- recipients


def _recipient(
    text: str,
    toks: list[_Tok],
    specials: list[tuple[int, int]],
    verb: int,
    lang: str,
    *,
    direct: bool,
) -> str | None:
    if specials:
        s, e = specials[0]
        return text[s:e]
    order = list(range(verb, len(toks))) + list(range(0, verb))
    for i in order:
        t = toks[i]
        if t.kind != "word":
            continue
        # "a" marks the recipient in Spanish only; in English it is an article ("a payment").
        strong = t.low == "to" or (t.low == "a" and lang == "es")
        if strong or t.low in lx.RECIPIENT_MARKERS_WEAK:
            name = _name_at(text, toks, i + 1, allow_lower=strong)
            if name is not None:
                return name
    if direct and verb < len(toks) and toks[verb].low in lx.PAY_VERBS_EN:
        # "pay Bob 20", "send Alice $5": the person straight after the verb.
        return _name_at(text, toks, verb + 1, allow_lower=True)
    return None


def _name_at(text: str, toks: list[_Tok], i: int, *, allow_lower: bool) -> str | None:
    """The name starting at token i as written: "María José", "Don Pepe", "mi mamá", "bob"."""
    if i >= len(toks) or toks[i].kind != "word":
        return None
    nxt = _next_word(toks, i)
    if toks[i].low in {"la", "el"} and nxt is not None:
        if toks[nxt].low in lx.TITLES:
            i = nxt  # "a la señora Rosa" → "señora Rosa"
        elif toks[nxt].text[:1].isupper():
            return _name_at(text, toks, nxt, allow_lower=False)  # "a la Lupita" → "Lupita"
    first = i
    if toks[i].low in lx.POSSESSIVES:
        nxt = _next_word(toks, i)
        if nxt is None or toks[nxt].low in lx.STOPWORDS:
            return None
        after = _next_word(toks, nxt)
        if after is not None and toks[after].text[:1].isupper():
            return _name_at(text, toks, after, allow_lower=False)  # "mi carnal Beto" → "Beto"
        i = nxt
        allow_lower = True
    elif toks[i].low in lx.TITLES:
        nxt = i + 2 if i + 2 < len(toks) and toks[i + 1].text == "." else i + 1
        if nxt < len(toks) and toks[nxt].kind == "word":
            i = nxt
    start_tok = toks[i]
    if start_tok.low in lx.STOPWORDS and start_tok.low not in lx.TITLES:
        return None
    capital = start_tok.text[:1].isupper()
    if not capital and not allow_lower:
        return None
    last = i
    j = i + 1
    while j < len(toks) and j - first < 5 and toks[j].kind == "word":
        t = toks[j]
        if capital:
            if t.text[:1].isupper() and t.low not in lx.STOPWORDS:
                last = j
            elif t.low in lx.NAME_CONNECTORS and _capital_follows(toks, j):
                pass
            else:
                break
        elif t.text[:1].isupper() or t.low in lx.STOPWORDS or j - first >= 3:
            break
        else:
            last = j
        j += 1
    return text[toks[first].start : toks[last].end]


def _capital_follows(toks: list[_Tok], j: int) -> bool:
    k = j + 1
    while k < len(toks) and toks[k].kind == "word" and toks[k].low in lx.NAME_CONNECTORS:
        k += 1
    return k < len(toks) and toks[k].kind == "word" and toks[k].text[:1].isupper()
