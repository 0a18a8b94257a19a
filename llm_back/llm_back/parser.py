"""The offline parser: Spanish and English messages → intent, amount, currency, recipient.

Used when no OpenAI key is set, and as the fallback when OpenAI fails. Deterministic and fast
(a few regexes over a short token list). The recipient is returned exactly as written — a name,
a payment pointer, an https wallet URL or a phone number — without the words around it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import pairwise

from llm_back import intents
from llm_back import lexicon as lx
from llm_back.extraction import Part
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
from llm_back.recurrence import recurrence
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
    r"\b(?:haz|hazle|hazme|hacer|hacerle|realiza|realizar|quiero hacer)\s+(?:una|un)\s+"
    r"(?:transferencia|pago|envio|deposito|bizum|nequi|yape|plin|sinpe)\b|\bmake\s+a\s+(?:payment|transfer)\b"
)


@dataclass(frozen=True)
class Parsed:
    intent: Intent
    monto: str | None = None  # may be "0" or "-5": `amounts.settle` refuses those with a reason
    currency: str | None = None
    destinatario: str | None = None
    language: str = "es"
    repeat: bool = False  # "otros 10", "again": the previous recipient is meant
    parts: tuple[Part, ...] = ()  # two or more recipients, in the order written
    split_total: str | None = None
    split_between: int | None = None
    recurrence: str | None = None
    target_language: str | None = None
    vetoed: bool = False  # money words, but a question, a hypothesis, the past or a negation


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


def parse(text: str, language: str | None = None, home: str | None = None) -> Parsed:
    """Understand one message on its own (memory merges follow-ups elsewhere).

    `home` is the user's own asset code: "$" and "pesos" mean it when it is a peso.
    """
    specials = _specials(text)
    toks = _tokenize(text, specials)
    lang = detect_language(toks, language)
    words = [t.low for t in toks if t.kind == "word"]
    if not words and not any(t.kind in {"num", "special"} for t in toks):
        return Parsed(Intent.THANKS if intents.thanks([], text) else Intent.OTHER, language=lang)
    phrase = " ".join(words)
    question = "?" in text or "¿" in text

    intent = intents.command_intent(words, phrase)
    if intent is not None:
        return Parsed(intent, language=lang)
    found = _amounts(toks, lang, home)
    verb, kind = _money_verb(toks, bool(found))
    if verb is None and _MAKE_TRANSFER.search(fold(text)):
        verb, kind = -1, "send"
    if verb is None:
        intent = intents.question_intent(words, phrase, question=question)
        if intent is not None:
            return Parsed(intent, language=lang)
        changing, target = intents.language_change(words)
        if changing and not found:
            return Parsed(Intent.LANGUAGE, language=lang, target_language=target)
    elif (veto := _veto(toks, verb, question)) is not None:
        # "what's the fee to send 20 to Bob?" asks about fees; other questions are "other".
        asked = (
            intents.question_intent(words, phrase, question=True) if veto == "question" else None
        )
        intent = Intent.CANCEL if veto == "negation" else asked or Intent.OTHER
        return Parsed(intent, language=lang, vetoed=True)
    amount = _pick_amount(toks, found)
    if kind == "split":
        return _split(text, toks, verb or 0, amount, found, lang)
    start = verb if verb is not None and verb >= 0 else 0
    named = _recipient(text, toks, start, lang, direct=verb is not None, request=kind == "request")
    recipient = named[0] if named else None
    if verb is None and (question or not _terse_payment(toks, amount, recipient)):
        # "is 20 to Bob too much?" and "ya le pagué 20" name money but ask for no payment.
        names_money = question and amount is not None and recipient is not None
        return Parsed(
            _small_talk(words, phrase, text), language=lang, vetoed=names_money or _past(toks)
        )
    if verb is not None and verb >= 0 and recipient is None and _asks_to_receive(toks, verb):
        return Parsed(Intent.OTHER, language=lang, vetoed=True)  # "¿me mandas 20?"
    parts = _parts(text, toks, named, found, amount) if named else ()
    return Parsed(
        Intent.REQUEST_PAYMENT if kind == "request" else Intent.SEND_PAYMENT,
        monto=to_text(amount.value) if amount else None,
        currency=amount.currency if amount else None,
        destinatario=recipient,
        language=lang,
        repeat=any(w in lx.REPEAT_WORDS for w in words),
        parts=parts,
        recurrence=recurrence(text),
    )


def _small_talk(words: list[str], phrase: str, text: str) -> Intent:
    if intents.thanks(words, text):
        return Intent.THANKS
    if any(w in lx.GREETINGS for w in words[:2]):
        return Intent.GREETING
    if intents.confirmation(words, phrase):
        return Intent.CONFIRM
    return Intent.OTHER


def parse_fragment(text: str, language: str | None = None) -> Parsed:
    """A follow-up such as "to Bob", "a María", "20" or "Bob": the fields it supplies, if any.

    A question, a hypothesis or a report of the past supplies nothing ("is 20 too much?").
    """
    whole = parse(text, language)
    if whole.intent in {Intent.SEND_PAYMENT, Intent.REQUEST_PAYMENT} or whole.vetoed:
        return whole
    if "?" in text or "¿" in text or whole.intent is not Intent.OTHER:
        return whole
    specials = _specials(text)
    toks = _tokenize(text, specials)
    amount = _pick_amount(toks, _amounts(toks, whole.language, None))
    named = _recipient(text, toks, 0, whole.language, direct=False)
    recipient = named[0] if named else None
    if recipient is None:
        words = [t for t in toks if t.kind == "word"]
        if words:
            # Only a bare capitalized name ("Bob", "María José"): a lone lowercase word is more
            # often "jaja" or "ok" than a person, and a sentence is not a name.
            name = _name_at(text, toks, _index(toks, words[0]), allow_lower=False)
            if name is not None and name[0] == text.strip().strip(_TRAIL).strip():
                recipient = name[0]
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


# Country calling codes whose people mostly write English (NANP numbers in Spanish-speaking
# places — Puerto Rico, the Dominican Republic — are told apart by their area code).
_ENGLISH_CODES = ("1", "44", "61", "64", "353", "27", "234", "254", "233", "65", "63")
_SPANISH_NANP_AREAS = frozenset({"787", "939", "809", "829", "849"})


def number_language(wa_id: str) -> str | None:
    """A default language from the phone number alone: "+1 212…" → "en"; else None (ask the
    message). Only used when the gateway did not say the chat's language."""
    digits = wa_id.lstrip("+")
    if digits.startswith("1") and digits[1:4] in _SPANISH_NANP_AREAS:
        return "es"
    if digits.startswith(_ENGLISH_CODES):
        return "en"
    return None


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


def _money_verb(toks: list[_Tok], has_amount: bool) -> tuple[int | None, str]:
    """Index and kind ("send" | "request" | "split") of the first word that moves money."""
    for i, t in enumerate(toks):
        if t.kind != "word":
            continue
        prev = _prev_word(toks, i)
        after_determiner = prev is not None and toks[prev].low in lx.DETERMINERS_EN
        if t.low in lx.REQUEST_VERBS:
            if after_determiner or (t.low in {"ask", "charge", "bill"} and not has_amount):
                continue  # "the charge", "my bill"; "ask Bob if…", "charge my phone"
            return i, "request"
        if t.low in lx.SPLIT_VERBS:
            return i, "split"
        if t.low not in lx.PAY_VERBS:
            continue
        if t.low in lx.PAST_WHEN_ACCENTED and t.text[-1:].lower() in {"é", "ó", "í"}:
            continue  # "le mandé 20": a report about the past, not a request
        if t.low in lx.PAST_WHEN_ACCENTED and _ya_before(toks, i):
            continue  # "ya le pague": the past, written without the accent
        if t.low in lx.PAST_WHEN_ACCENTED and _pay_me(toks, i):
            return i, "request"  # "dile a Bob que me pague 20"
        if t.low in lx.PAY_VERBS_EN:
            if after_determiner:
                continue  # "my pay", "the transfer": a noun
            nxt = _next_word(toks, i)
            if nxt is not None and toks[nxt].low in lx.SELF_OBJECTS:
                continue  # "send me 20": asking to receive, which Paguito cannot do
        return i, "send"
    return None, "send"


def _ya_before(toks: list[_Tok], i: int) -> bool:
    words = [t.low for t in toks[max(0, i - 3) : i] if t.kind == "word"]
    return "ya" in words or "already" in words


def _pay_me(toks: list[_Tok], i: int) -> bool:
    return i >= 2 and toks[i - 1].low == "me" and toks[i - 2].low == "que"


def _past(toks: list[_Tok]) -> bool:
    """A report about a payment already made: "le mandé 20", "ya le pague", "I paid Bob"."""
    for i, t in enumerate(toks):
        if t.kind != "word":
            continue
        if t.low in lx.PAST_WHEN_ACCENTED and (
            t.text[-1:].lower() in {"é", "ó", "í"} or _ya_before(toks, i)
        ):
            return True
        if t.low in {"sent", "paid", "transferred", "wired"}:
            return True
    return False


def _veto(toks: list[_Tok], verb: int, question: bool) -> str | None:
    """Why a money verb does not ask to move money: a negation, hypothesis or question."""
    if _negated(toks, verb):
        return "negation"
    before = [t for t in toks[:verb] if t.kind == "word"]
    for k, t in enumerate(before):
        if t.low not in lx.HYPOTHETICAL:
            continue
        if t.low == "si":
            at = _index(toks, t)
            nxt = toks[at + 1] if at + 1 < len(toks) else None
            if (
                t.text.lower() == "sí"
                or nxt is None
                or nxt.kind != "word"
                or at + 1 == verb
                or nxt.low in lx.CONFIRMATIONS | lx.POLITE_OPENERS
            ):
                continue  # "sí, mándale", "si mándale 20", "si porfa…": yes, not if
            if k > 0 and before[k - 1].low in {"que", "de"}:
                continue
        return "hypothetical"
    if not question:
        return None
    lows = [t.low for t in before]
    polite = any(w in lx.POLITE_OPENERS for w in lows) or any(
        a in {"would", "will"} and b == "you" for a, b in pairwise(lows)
    )
    if not polite and any(w in lx.QUESTION_OPENERS for w in lows):
        return "question"
    return None


def _asks_to_receive(toks: list[_Tok], verb: int) -> bool:
    prev = _prev_word(toks, verb)
    return toks[verb].low in lx.ASKING_VERBS and prev is not None and toks[prev].low == "me"


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


def _pick_amount(toks: list[_Tok], found: list[_Amount]) -> _Amount | None:
    """The amount meant: the first one marked as money, else the first plain number."""
    money = [a for a in found if not _not_money(toks, a)]
    marked = [a for a in money if a.marked]
    chosen = marked or money
    return chosen[0] if chosen else None


def _amounts(toks: list[_Tok], lang: str, home: str | None) -> list[_Amount]:
    """Every amount written, in order; a "-" or "menos" in front makes it negative."""
    out: list[_Amount] = []
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
        amount = _finish_amount(toks, i, last, value, home)
        if _minus_before(toks, amount.first):
            amount = replace(amount, value=-amount.value, first=amount.first - 1, marked=True)
        out.append(amount)
        i = amount.last + 1
    return out


def _minus_before(toks: list[_Tok], first: int) -> bool:
    """ "-5", "$-5", "menos 5", "minus 5" (but not "20-30" or a hyphenated word)."""
    if first == 0:
        return False
    prev = toks[first - 1]
    if prev.low in {"menos", "minus"}:
        return True
    if prev.text not in {"-", "−"} or prev.end != toks[first].start:
        return False
    return first == 1 or toks[first - 2].end < prev.start or toks[first - 2].kind == "sym"


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


def _finish_amount(
    toks: list[_Tok], first: int, last: int, value: Decimal, home: str | None
) -> _Amount:
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
            return _Amount(value * 1000, _peso(home), first, j, True)
        elif low in _CENTS:
            return _Amount(value.scaleb(-2), None, first, j, True)  # "50 centavos" → 0.50
    if (cents := _cents_after(toks, j)) is not None:
        value, last, j = value + cents[0], cents[1], cents[1] + 1  # "veinte con cincuenta"
    if j + 1 < len(toks) and toks[j].low == "de" and _currency_of(toks[j + 1], home) is not None:
        j += 1  # "un millón de pesos"
    if j < len(toks) and (code := _currency_of(toks[j], home)) is not None:
        if (cents := _cents_after(toks, j + 1)) is not None:
            return _Amount(value + cents[0], code, first, cents[1], True)  # "20 dólares con 50"
        return _Amount(value, code, first, j, True)
    if first > 0 and (code := _currency_of(toks[first - 1], home)) is not None:
        return _Amount(value, code, first - 1, last, True)
    return _Amount(value, currency, first, last, marked)


def _cents_after(toks: list[_Tok], j: int) -> tuple[Decimal, int] | None:
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
        words, last = _number_words(toks, j + 1)
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


def _currency_of(t: _Tok, home: str | None = None) -> str | None:
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


# A name as found: (text as written, index of its first token, index of its last token).
_Name = tuple[str, int, int]


def _recipient(
    text: str, toks: list[_Tok], verb: int, lang: str, *, direct: bool, request: bool = False
) -> _Name | None:
    """Who the money is for (or, for a request, who pays): a wallet, a phone or a name."""
    order = list(range(verb, len(toks))) + list(range(0, verb))
    for i in order:
        t = toks[i]
        if t.kind == "special":
            return t.text, i, i  # a wallet address or a phone number, written as-is
        if t.kind != "word":
            continue
        # "a" marks the recipient in Spanish only; in English it is an article ("a payment").
        strong = t.low == "to" or (t.low == "a" and lang == "es") or (request and t.low == "from")
        if (
            strong
            or t.low in lx.RECIPIENT_MARKERS_WEAK
            or t.low in {lx.RECIPIENT_MARKER_AL, "owe"}  # "al Chuy", "I owe Bob 20, send it"
        ):
            name = _name_at(text, toks, i + 1, allow_lower=strong)
            if name is not None:
                return name
    if direct and verb < len(toks) and toks[verb].low in lx.PAY_VERBS_EN | lx.REQUEST_VERBS:
        # "pay Bob 20", "send Alice $5", "charge Bob 50": the person straight after the verb.
        return _name_at(text, toks, verb + 1, allow_lower=True)
    return None


def _more_names(text: str, toks: list[_Tok], last: int) -> tuple[list[_Name], bool]:
    """Names listed after the one ending at token `last`: ", Alice y a Pedro", "and 10 to Ana".

    Returns them and whether the user named themself ("Bob, Alice and me").
    """
    names: list[_Name] = []
    me = False
    k = last + 1
    while k < len(toks):
        joined = marked = False
        j = k
        while j < len(toks):
            t = toks[j]
            if t.low in lx.LIST_JOINERS:
                joined = True
            elif t.kind in {"num", "sym"} or t.low in lx.CURRENCY_WORDS or t.low in THOUSANDS:
                pass  # the amount of the next one: "y 10 a Alice"
            elif t.low in {"a", "al", "to", "para", "for"}:
                marked = True
            else:
                break
            j += 1
        if not joined or j >= len(toks):
            break
        t = toks[j]
        if t.kind == "special":
            names.append((t.text, j, j))
        elif t.kind == "word" and t.low in lx.SELF_WORDS:
            me = True
            k = j + 1
            continue
        else:
            name = _name_at(text, toks, j, allow_lower=marked)
            if name is None:
                break
            names.append(name)
        k = names[-1][2] + 1
    return names, me


def _parts(
    text: str, toks: list[_Tok], first: _Name, found: list[_Amount], amount: _Amount | None
) -> tuple[Part, ...]:
    """Each recipient of "20 a Bob y 10 a Alice" with its amount; () for a single recipient.

    Amounts sit either before each name ("20 a Bob y 10 a Alice") or after it ("a Bob 20 y a
    Alice 10"), the same way for the whole message; one amount for all means each gets it.
    """
    more, _me = _more_names(text, toks, first[2])
    if not more:
        return ()
    names = [first, *more]
    money = [a for a in found if not _not_money(toks, a)]
    if len(money) <= 1:
        each = (to_text(amount.value), amount.currency) if amount else (None, None)
        return tuple(Part(n[0], *each) for n in names)
    before = any(a.last < first[1] for a in money)
    parts = []
    for k, (name, start, end) in enumerate(names):
        low = names[k - 1][2] if k > 0 else -1
        high = names[k + 1][1] if k + 1 < len(names) else len(toks)
        if before:
            mine = [a for a in money if low < a.first and a.last < start]
        else:
            mine = [a for a in money if end < a.first and a.last < high]
        a = mine[-1] if before and mine else mine[0] if mine else None
        parts.append(Part(name, to_text(a.value) if a else None, a.currency if a else None))
    return tuple(parts)


def _split(
    text: str,
    toks: list[_Tok],
    verb: int,
    amount: _Amount | None,
    found: list[_Amount],
    lang: str,
) -> Parsed:
    """ "split 60 between Bob, Alice and me": who shares it; `amounts.settle` divides it."""
    names: list[_Name] = []
    me = False
    for i in range(verb + 1, len(toks)):
        low = toks[i].low
        if low not in lx.SPLIT_MARKERS and low not in {"with", "con"}:
            continue
        me = low in {"with", "con"}  # "split 60 with Bob": the user is one of the two
        j = i + 1
        if j < len(toks) and toks[j].low in lx.SELF_WORDS:
            me = True
            first: _Name | None = ("", j, j)
        elif j < len(toks) and toks[j].kind == "special":
            first = (toks[j].text, j, j)
        else:
            first = _name_at(text, toks, j, allow_lower=True)
        if first is None:
            break
        more, me_too = _more_names(text, toks, first[2])
        names = [n for n in (first, *more) if n[0]]
        me = me or me_too
        break
    people = len(names) + (1 if me else 0)
    return Parsed(
        Intent.SEND_PAYMENT,
        destinatario=names[0][0] if names else None,
        language=lang,
        parts=tuple(Part(n[0]) for n in names) if len(names) > 1 or me else (),
        split_total=to_text(amount.value) if amount else None,
        split_between=people or None,
        recurrence=recurrence(text),
    )


def _name_at(text: str, toks: list[_Tok], i: int, *, allow_lower: bool) -> _Name | None:
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
        nxt = _next_word(toks, i)
        if first == i and nxt is not None and toks[nxt].text[:1].isupper():
            return _name_at(text, toks, nxt, allow_lower=False)  # "al parcero Andrés"
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
    return text[toks[first].start : toks[last].end], first, last


def _capital_follows(toks: list[_Tok], j: int) -> bool:
    k = j + 1
    while k < len(toks) and toks[k].kind == "word" and toks[k].low in lx.NAME_CONNECTORS:
        k += 1
    return k < len(toks) and toks[k].kind == "word" and toks[k].text[:1].isupper()
