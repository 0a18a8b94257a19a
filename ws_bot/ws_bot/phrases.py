"""Reading user text: commands, yes/no, "save Bob as …", amounts, names, corrections.

Every function here runs on text a stranger typed, on the request loop, so each one is linear
in the length of the text: the text is capped first (`MAX_TEXT`), then split into words, and the
few regular expressions left match one bounded token with no nested or adjacent repetition
(a backtracking pattern such as `.+?\\s+` froze the gateway for minutes on "save a" + spaces).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_TEXT = 1000  # nobody types a payment in more; longer text is cut before any matching
MAX_NAME = 64
_PUNCT = "¡!¿?.,;:…\"'«»()"

_COMMANDS = {
    "cancel": {"cancel", "cancelar", "cancela", "stop", "alto", "no"},
    "history": {"history", "historial", "pagos", "payments", "mis pagos", "my payments"},
    "help": {"help", "ayuda", "menu", "menú", "hola", "hi", "hello", "buenas", "start", "inicio"},
    "contacts": {"contacts", "contactos", "agenda", "libreta", "address book"},
    "language": {"language", "idioma", "lang", "languages", "idiomas"},
    "wallet": {"wallet", "billetera", "mi billetera", "my wallet", "cartera"},
    "balance": {
        "saldo",
        "mi saldo",
        "balance",
        "my balance",
        "what's my balance",
        "whats my balance",
        "what is my balance",
        "cuánto tengo",
        "cuanto tengo",
    },
    "thanks": {
        "gracias",
        "muchas gracias",
        "mil gracias",
        "thanks",
        "thank you",
        "thx",
        "ty",
        "gracias!",
        "genial gracias",
        "great thanks",
    },
    # issue 17: linked wallets (llm_back reads the free-form ways of saying these)
    "link": {
        "vincular",
        "vincular billetera",
        "vincular mi billetera",
        "link",
        "link wallet",
        "link my wallet",
    },
    "unlink": {
        "desvincular",
        "desvincular billetera",
        "desvincular mi billetera",
        "unlink",
        "unlink wallet",
        "unlink my wallet",
    },
    "allowance": {
        "cambiar límite",
        "cambiar limite",
        "cambiar mi límite",
        "cambiar mi limite",
        "mi límite",
        "mi limite",
        "límite",
        "limite",
        "change my allowance",
        "change allowance",
        "allowance",
        "my allowance",
    },
    "status": {
        "estado",
        "status",
        "ya le llegó",
        "ya le llego",
        "ya llegó",
        "ya llego",
        "llegó",
        "llego",
        "status of my payment",
        "payment status",
        "estado de mi pago",
        "estado del pago",
        "did it arrive",
        "did it go through",
    },
}
YES = {"sí", "si", "dale", "confirmo", "confirmar", "confirm", "yes", "ok", "okay", "va", "sure",
       "claro", "de acuerdo", "yep", "yeah", "correcto", "sí confirmo", "si confirmo", "ándale",
       "andale", "listo"}  # fmt: skip
NO = {"no", "nope", "nel", "no gracias", "no thanks", "mejor no"}

_SAVE_VERBS = {"guarda", "guardar", "agrega", "agregar", "save", "add"}
_DELETE_VERBS = {"borra", "borrar", "elimina", "eliminar", "delete", "remove"}
_SEPARATORS = {"como", "as", "=", ":"}
_ARTICLES = {"a", "al"}
_TO = {"a", "al", "to", "para", "pa"}
# Words that start a correction of what was just asked ("no espera, mejor a Alice").
_CORRECTION = {("no", "espera"), ("espera",), ("mejor",), ("wait",), ("make", "it"),
               ("actually",), ("instead",), ("i", "mean"), ("quise", "decir"), ("perdón",),
               ("perdon",), ("corrijo",), ("cámbialo", "a"), ("cambialo", "a")}  # fmt: skip
_ENGLISH = {("wait",), ("make", "it"), ("actually",), ("instead",), ("i", "mean")}
_TO_EN = {"to"}
_TO_ES = {"a", "al", "para", "pa"}
_NAMING = {("mejor",), ("i", "mean"), ("quise", "decir"), ("actually",), ("instead",), ("corrijo",)}
_FILLER = {"no", "oh", "uy", "ups", "oops", "sorry", "perdón", "perdon", "mm", "eh", "ah"}

_AMOUNT = re.compile(r"\$?(\d{1,9}(?:[.,]\d{1,2})?)")
_CODE = re.compile(r"[A-Za-z]{3}")
_NAME = re.compile(r"[^\W\d_]+(?:[ '\-][^\W\d_]+){0,3}")
_PHONE = re.compile(r"\+?[\d\s\-().]{7,20}")


def cap(text: str) -> str:
    return (text or "")[:MAX_TEXT]


def _plain(text: str) -> str:
    """Lower case, outer punctuation off, spaces collapsed."""
    return " ".join(cap(text).lower().strip().strip(_PUNCT).split())


def _token(word: str) -> str:
    return word.lower().strip(_PUNCT)


def fold(text: str) -> str:
    """Case- and accent-insensitive form with spaces collapsed ("José " → "jose")."""
    decomposed = unicodedata.normalize("NFKD", cap(text).strip().casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())


def command(text: str) -> str | None:
    word = _plain(text)
    for name, words in _COMMANDS.items():
        if word in words:
            return name
    return None


def is_yes(text: str) -> bool:
    return _plain(text) in YES


def is_no(text: str) -> bool:
    return _plain(text) in NO


def clean_name(name: str, limit: int = MAX_NAME) -> str:
    """A name shown to people is data, not layout: no control characters or line breaks."""
    kept = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in cap(name))
    return " ".join(kept.split())[:limit].strip()


def parse_save(text: str) -> tuple[str, str] | None:
    """'save Bob as $w/bob', 'guarda a Juan Pérez como $w/juan' → (name, wallet)."""
    words = cap(text).split()
    if len(words) < 3 or _token(words[0]) not in _SAVE_VERBS:
        return None
    wallet, rest = words[-1], words[1:-1]
    if rest and _token(rest[-1]) in _SEPARATORS | {""}:
        rest = rest[:-1]
    elif rest and rest[-1][-1] in ":=":
        rest[-1] = rest[-1][:-1]
    else:
        return None
    if rest and _token(rest[0]) in _ARTICLES and len(rest) > 1:
        rest = rest[1:]
    name = clean_name(" ".join(rest))
    return (name, wallet) if name else None


def parse_my_wallet(text: str) -> str | None:
    """'my wallet is $w/me', 'mi billetera: $w/me' → the wallet word."""
    words = [w for w in cap(text).split() if w not in (":", "=")]
    head = [_token(w) for w in words[:3]]
    for prefix in (["my", "wallet", "is"], ["mi", "billetera", "es"], ["mi", "wallet", "es"]):
        for size in (3, 2):
            if head[:size] == prefix[:size] and len(words) == size + 1:
                return words[size]
    return None


def parse_delete(text: str) -> str | None:
    words = cap(text).split()
    if len(words) < 2 or _token(words[0]) not in _DELETE_VERBS:
        return None
    rest = words[1:]
    if len(rest) > 1 and _token(rest[0]) in _ARTICLES:
        rest = rest[1:]
    return clean_name(" ".join(rest)) or None


def amount(text: str) -> str | None:
    """A bare amount answering "how much?": '7,50', '$20', '20 usd' → '7.50', '20', '20'."""
    words = cap(text).split()
    if not 1 <= len(words) <= 2 or len(words[0]) > 14:
        return None
    m = _AMOUNT.fullmatch(words[0])
    if m is None or (len(words) == 2 and not _CODE.fullmatch(words[1])):
        return None
    return m.group(1).replace(",", ".")


def is_name(text: str) -> bool:
    text = text.strip()
    return len(text) <= 128 and _NAME.fullmatch(text) is not None


def is_phone(text: str) -> bool:
    text = text.strip()
    return len(text) <= 20 and _PHONE.fullmatch(text) is not None


_HOST_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789.-:")


def bare_wallet(text: str) -> str | None:
    """A wallet address pasted without its "$" ("wallet.example/bob") as a pointer."""
    words = cap(text).split()
    if not 1 <= len(words) <= 4:
        return None
    host, _, path = words[-1].strip(_PUNCT).partition("/")
    if "." not in host or not path or not set(host.lower()) <= _HOST_CHARS:
        return None
    return f"${host}/{path}"


def recipient_answer(text: str) -> str:
    """'to bob', 'a Bob', 'para Bob.' → 'bob'/'Bob': the name answering "who?"."""
    words = cap(text).split()
    if len(words) > 1 and _token(words[0]) in _TO:
        words = words[1:]
    return " ".join(words).strip(_PUNCT.replace("$", ""))


@dataclass(frozen=True)
class Correction:
    head: str  # what came before the correction ("mándale 20 a Bob…"), may be empty
    amount: str | None
    recipient: str | None


def correction(text: str) -> Correction | None:
    """'no, mejor 30', 'mejor a Alice', 'wait, make it 25', 'mándale 20 a Bob… no espera, mejor
    a Alice': the new amount and/or recipient, and the request before it."""
    words = cap(text).split()
    tokens = [_token(w) for w in words]
    first = last = -1
    marker: tuple[str, ...] = ()
    i = 0
    while i < len(tokens):
        found = next((m for m in _CORRECTION if tuple(tokens[i : i + len(m)]) == m), ())
        if found:
            first = i if first < 0 else first
            last, marker = i + len(found), found
            i += len(found)
        else:
            i += 1
    if first < 0:
        return None
    head = words[:first]
    while head and _token(head[-1]) in _FILLER:
        head = head[:-1]
    tail = [w for w in words[last:] if _token(w)]
    found_amount: str | None = None
    recipient: list[str] = []
    in_name = False
    for word in tail:
        token = _token(word)
        if found_amount is None and not in_name and (m := _AMOUNT.fullmatch(token)):
            found_amount = m.group(1).replace(",", ".")
        elif token in (_TO_EN if marker in _ENGLISH else _TO_ES) and not recipient:
            in_name = True
        elif in_name or word.startswith("$"):
            recipient.append(word.strip(_PUNCT.replace("$", "")))
            in_name = True
    name = " ".join(recipient[:4]) or None
    if found_amount is None and name is None:
        rest = " ".join(w.strip(_PUNCT) for w in tail)
        # "mejor Alice" names someone; "espera un momento" does not.
        name = rest if marker in _NAMING and rest and is_name(rest) else None
    if found_amount is None and name is None:
        return None
    return Correction(" ".join(head).strip(_PUNCT), found_amount, name)
