"""Recipients as written in a message: one, or several ("20 a Bob y 10 a Alice").

A name comes back exactly as written ("María José", "Don Pepe", "mi mamá", "$wallet.example/bob")
with the token indexes it spans, so lists and amounts around it can be read.
"""

from __future__ import annotations

from llm_back import lexicon as lx
from llm_back.amount_words import Amount, not_money
from llm_back.extraction import Part
from llm_back.numbers import THOUSANDS, to_text
from llm_back.tokens import Tok, next_word

# A name as found: (text as written, index of its first token, index of its last token).
Name = tuple[str, int, int]


def find_recipient(
    text: str, toks: list[Tok], verb: int, lang: str, *, direct: bool, request: bool = False
) -> Name | None:
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
            name = name_at(text, toks, i + 1, allow_lower=strong)
            if name is not None:
                return name
    if direct and verb < len(toks) and toks[verb].low in lx.PAY_VERBS_EN | lx.REQUEST_VERBS:
        # "pay Bob 20", "send Alice $5", "charge Bob 50": the person straight after the verb.
        return name_at(text, toks, verb + 1, allow_lower=True)
    return None


def more_names(text: str, toks: list[Tok], last: int) -> tuple[list[Name], bool]:
    """Names listed after the one ending at token `last`: ", Alice y a Pedro", "and 10 to Ana".

    Returns them and whether the user named themself ("Bob, Alice and me").
    """
    names: list[Name] = []
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
            name = name_at(text, toks, j, allow_lower=marked)
            if name is None:
                break
            names.append(name)
        k = names[-1][2] + 1
    return names, me


def parts_of(
    text: str, toks: list[Tok], first: Name, found: list[Amount], amount: Amount | None
) -> tuple[Part, ...]:
    """Each recipient of "20 a Bob y 10 a Alice" with its amount; () for a single recipient.

    Amounts sit either before each name ("20 a Bob y 10 a Alice") or after it ("a Bob 20 y a
    Alice 10"), the same way for the whole message; one amount for all means each gets it.
    """
    more, _me = more_names(text, toks, first[2])
    if not more:
        return ()
    names = [first, *more]
    money = [a for a in found if not not_money(toks, a)]
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


def name_at(text: str, toks: list[Tok], i: int, *, allow_lower: bool) -> Name | None:
    """The name starting at token i as written: "María José", "Don Pepe", "mi mamá", "bob"."""
    if i >= len(toks) or toks[i].kind != "word":
        return None
    nxt = next_word(toks, i)
    if toks[i].low in {"la", "el"} and nxt is not None:
        if toks[nxt].low in lx.TITLES:
            i = nxt  # "a la señora Rosa" → "señora Rosa"
        elif toks[nxt].text[:1].isupper():
            return name_at(text, toks, nxt, allow_lower=False)  # "a la Lupita" → "Lupita"
    first = i
    if toks[i].low in lx.POSSESSIVES:
        nxt = next_word(toks, i)
        if nxt is None or toks[nxt].low in lx.STOPWORDS:
            return None
        after = next_word(toks, nxt)
        if after is not None and toks[after].text[:1].isupper():
            return name_at(text, toks, after, allow_lower=False)  # "mi carnal Beto" → "Beto"
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
        nxt = next_word(toks, i)
        if first == i and nxt is not None and toks[nxt].text[:1].isupper():
            return name_at(text, toks, nxt, allow_lower=False)  # "al parcero Andrés"
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


def _capital_follows(toks: list[Tok], j: int) -> bool:
    k = j + 1
    while k < len(toks) and toks[k].kind == "word" and toks[k].low in lx.NAME_CONNECTORS:
        k += 1
    return k < len(toks) and toks[k].kind == "word" and toks[k].text[:1].isupper()
