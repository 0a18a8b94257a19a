"""The offline parser: Spanish and English messages → intent, amount, currency, recipient.

Used when no OpenAI key is set, and as the fallback when OpenAI fails. Deterministic and fast
(a few regexes over a short token list). The recipient is returned exactly as written — a name,
a payment pointer, an https wallet URL or a phone number — without the words around it.

This module decides the intent (the money verb, and what vetoes it: a negation, a question, a
hypothesis, the past); `tokens`, `amount_words`, `names`, `intents` and `recurrence` read the
pieces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from itertools import pairwise

from llm_back import intents
from llm_back import lexicon as lx
from llm_back.amount_words import Amount, find_amounts, pick_amount
from llm_back.extraction import Part
from llm_back.names import Name, find_recipient, more_names, name_at, parts_of
from llm_back.numbers import fold, to_text
from llm_back.recurrence import period, recurrence, without_cadence
from llm_back.tokens import TRAIL, Tok, find_specials, index_of, next_word, prev_word, tokenize
from shared.contracts import Intent

_MAKE_TRANSFER = re.compile(
    r"\b(?:haz|hazle|hazme|hacer|hacerle|realiza|realizar|quiero hacer|programa|programar"
    r"|programame|agenda|agendar)\s+(?:una|un)\s+"
    r"(?:transferencia|pago|envio|deposito|bizum|nequi|yape|plin|sinpe)\b"
    r"|\b(?:make|schedule|set\s+up)\s+a\s+(?:(?:weekly|monthly|recurring)\s+)?"
    r"(?:payment|transfer)\b"
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


def parse(text: str, language: str | None = None, home: str | None = None) -> Parsed:
    """Understand one message on its own (memory merges follow-ups elsewhere).

    `home` is the user's own asset code: "$" and "pesos" mean it when it is a peso.
    """
    specials = find_specials(text)
    toks = tokenize(text, specials)
    lang = detect_language(toks, language)
    words = [t.low for t in toks if t.kind == "word"]
    if not words and not any(t.kind in {"num", "special"} for t in toks):
        return Parsed(Intent.THANKS if intents.thanks([], text) else Intent.OTHER, language=lang)
    phrase = " ".join(words)
    question = "?" in text or "¿" in text

    found = find_amounts(toks, lang, home)
    account = intents.account_intent(
        words, phrase, has_amount=bool(found), repeats=recurrence(text) is not None
    )
    if account is Intent.ALLOWANCE and found and _money_verb(toks, True)[0] is not None:
        account = None  # "send 20 to Bob, that's my limit": a payment that names the limit
    if account is Intent.ALLOWANCE or (
        account is None and _new_limit(text, toks, phrase, found, lang)
    ):
        return _allowance(text, toks, found, lang)
    if account is not None:
        return Parsed(account, language=lang)
    intent = intents.command_intent(words, phrase)
    if intent is not None:
        return Parsed(intent, language=lang)
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
    amount = pick_amount(toks, found)
    if kind == "split":
        return _split(text, toks, verb or 0, amount, found, lang)
    start = verb if verb is not None and verb >= 0 else 0
    named = find_recipient(
        text, toks, start, lang, direct=verb is not None, request=kind == "request"
    )
    recipient = without_cadence(named[0]) if named else None
    if verb is None and (
        question or not _terse_payment(toks, found[0] if found else None, recipient)
    ):
        # "is 20 to Bob too much?" and "ya le pagué 20" name money but ask for no payment.
        names_money = question and amount is not None and recipient is not None
        return Parsed(
            _small_talk(words, phrase, text), language=lang, vetoed=names_money or _past(toks)
        )
    if verb is not None and verb >= 0 and recipient is None and _asks_to_receive(toks, verb):
        return Parsed(Intent.OTHER, language=lang, vetoed=True)  # "¿me mandas 20?"
    parts = parts_of(text, toks, named, found, amount) if named else ()
    monto = to_text(amount.value) if amount else None
    currency = amount.currency if amount else None
    if parts:  # monto/destinatario are always the first recipient's, for older gateways
        monto, currency = parts[0].monto, parts[0].currency
    return Parsed(
        Intent.REQUEST_PAYMENT if kind == "request" else Intent.SEND_PAYMENT,
        monto=monto,
        currency=currency,
        destinatario=recipient,
        language=lang,
        repeat=any(w in lx.REPEAT_WORDS for w in words),
        parts=parts,
        recurrence=recurrence(text),
    )


def _new_limit(text: str, toks: list[Tok], phrase: str, found: list[Amount], lang: str) -> bool:
    """ "hasta 30 dólares por semana": at most an amount per period, to nobody — a limit."""
    if not found or not intents.at_most(phrase) or period(text) is None:
        return False
    return _money_verb(toks, True)[0] is None and not find_recipient(
        text, toks, 0, lang, direct=False
    )


def _allowance(text: str, toks: list[Tok], found: list[Amount], lang: str) -> Parsed:
    """ "set my allowance to 50 a week": the new limit and its period, when the user said them."""
    amount = pick_amount(toks, found)
    if amount is None:
        return Parsed(Intent.ALLOWANCE, language=lang)
    return Parsed(
        Intent.ALLOWANCE,
        monto=to_text(amount.value),
        currency=amount.currency,
        language=lang,
        recurrence=period(text),
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
    specials = find_specials(text)
    toks = tokenize(text, specials)
    amount = pick_amount(toks, find_amounts(toks, whole.language, None))
    named = find_recipient(text, toks, 0, whole.language, direct=False)
    recipient = named[0] if named else None
    if recipient is None:
        words = [t for t in toks if t.kind == "word"]
        if words:
            # Only a bare capitalized name ("Bob", "María José"): a lone lowercase word is more
            # often "jaja" or "ok" than a person, and a sentence is not a name.
            name = name_at(text, toks, index_of(toks, words[0]), allow_lower=False)
            if name is not None and name[0] == text.strip().strip(TRAIL).strip():
                recipient = name[0]
    return replace(
        whole,
        monto=to_text(amount.value) if amount else None,
        currency=amount.currency if amount else None,
        destinatario=recipient,
    )


def detect_language(toks: list[Tok] | str, hint: str | None = None) -> str:
    """ "es" or "en" from marker words and Spanish punctuation; the hint breaks ties."""
    if isinstance(toks, str):
        toks = tokenize(toks, find_specials(toks))
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


# ---------------------------------------------------------------- money verbs and vetoes


def _money_verb(toks: list[Tok], has_amount: bool) -> tuple[int | None, str]:
    """Index and kind ("send" | "request" | "split") of the first word that moves money."""
    for i, t in enumerate(toks):
        if t.kind != "word":
            continue
        prev = prev_word(toks, i)
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
            nxt = next_word(toks, i)
            if nxt is not None and toks[nxt].low in lx.SELF_OBJECTS:
                continue  # "send me 20": asking to receive, which Paguito cannot do
        return i, "send"
    return None, "send"


def _ya_before(toks: list[Tok], i: int) -> bool:
    words = [t.low for t in toks[max(0, i - 3) : i] if t.kind == "word"]
    return "ya" in words or "already" in words


def _pay_me(toks: list[Tok], i: int) -> bool:
    return i >= 2 and toks[i - 1].low == "me" and toks[i - 2].low == "que"


def _past(toks: list[Tok]) -> bool:
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


def _veto(toks: list[Tok], verb: int, question: bool) -> str | None:
    """Why a money verb does not ask to move money: a negation, hypothesis or question."""
    if _negated(toks, verb):
        return "negation"
    before = [t for t in toks[:verb] if t.kind == "word"]
    for k, t in enumerate(before):
        if t.low not in lx.HYPOTHETICAL:
            continue
        if t.low == "si":
            at = index_of(toks, t)
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


def _asks_to_receive(toks: list[Tok], verb: int) -> bool:
    prev = prev_word(toks, verb)
    return toks[verb].low in lx.ASKING_VERBS and prev is not None and toks[prev].low == "me"


def _negated(toks: list[Tok], verb: int) -> bool:
    if verb < 0:
        return False
    for j in range(verb - 1, max(-1, verb - 4), -1):
        if toks[j].kind == "punct":
            return False  # "No, mándale 30": a correction, not "don't send"
        if toks[j].kind == "word" and toks[j].low in lx.NEGATIONS:
            return True
    return False


def _terse_payment(toks: list[Tok], amount: Amount | None, recipient: str | None) -> bool:
    """ "20 a Bob", "$15 to $wallet.example/ana": an amount first, then to whom."""
    if amount is None or recipient is None or amount.first > 1:
        return False
    after = amount.last + 1
    return after < len(toks) and (
        toks[after].low in lx.RECIPIENT_MARKERS_STRONG | lx.RECIPIENT_MARKERS_WEAK
        or toks[after].kind == "special"
    )


# ---------------------------------------------------------------- splits


def _split(
    text: str,
    toks: list[Tok],
    verb: int,
    amount: Amount | None,
    found: list[Amount],
    lang: str,
) -> Parsed:
    """ "split 60 between Bob, Alice and me": who shares it; `amounts.settle` divides it."""
    names: list[Name] = []
    me = False
    for i in range(verb + 1, len(toks)):
        low = toks[i].low
        if low not in lx.SPLIT_MARKERS and low not in {"with", "con"}:
            continue
        me = low in {"with", "con"}  # "split 60 with Bob": the user is one of the two
        j = i + 1
        if j < len(toks) and toks[j].low in lx.SELF_WORDS:
            me = True
            first: Name | None = ("", j, j)
        elif j < len(toks) and toks[j].kind == "special":
            first = (toks[j].text, j, j)
        else:
            first = name_at(text, toks, j, allow_lower=True)
        if first is None:
            break
        more, me_too = more_names(text, toks, first[2])
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
