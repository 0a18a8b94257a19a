"""What the fake "model" reads: a keyword stub for text, tags for images and voice notes.

Deliberately independent of llm_back's parser (a stand-in must not share the code it tests)
and deliberately simple: it is deterministic, not clever.

- Text: the last user message → intent, amount, currency, recipient, language, reply.
- Images: a receipt reading from a PNG tEXt/iTXt chunk or a JPEG comment such as
  `total=23.50;currency=USD;payee=Tacos El Güero` (or `receipt=no`); an untagged image gets a
  fixed reading derived from its bytes.
- Audio: the transcript from the ogg/opus comment tag `TRANSCRIPT` (see `ogg.py`); an untagged
  file gets one of a few fixed phrases, chosen by its bytes.
"""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from typing import Any

from sandbox.openai_api import ogg

_VERB = re.compile(
    r"\b(m[aá]nd|env[ií]|pag|p[aá]gal|transf|deposit|send|pay|transfer|wire|give)", re.I
)
_REQUEST = re.compile(r"\b(c[oó]br[aá]le|cobra|p[ií]dele|request|charge|bill)\b|que me pague", re.I)
_TERSE = re.compile(r"^\s*[$€£]?\d[\d.,]*\s*(?:\w+\s+)?(?:a|to)\s", re.I)  # "20 a Bob"
_SPLIT = re.compile(r"\b(split|divide|rep[aá]rte)\b", re.I)
_PAST = re.compile(r"\b(mand[ée]|envi[ée]|pagu[ée]|sent|paid)\b|\bya le pague\b", re.I)
_NEGATION = re.compile(r"\b(no le mandes|no le env[ií]es|no le pagues|don'?t (send|pay))\b", re.I)
_QUESTION = re.compile(
    r"^\s*¿?\s*(is|are|should|would it|what if|if|si le|cu[aá]nto cuesta)\b|\bif i\b", re.I
)
# Intents without a money verb, first match wins (in this order).
_KEYWORDS = [
    ("allowance", r"l[ií]mite|\blimit\b|\btope\b|allowance|\b(?:hasta|up to)\s+\$?\d"),
    ("schedules", r"programad|recurr|autom[aá]tic|scheduled"),
    ("unlink", r"desvincul|\bunlink|disconnect|\bquitar mi (?:wallet|billetera|cuenta)\b"),
    ("fees", r"comisi[oó]n|\bfees?\b|cu[aá]nto cuesta|cu[aá]nto cobran"),
    ("status", r"\blleg[oó]\b|\bstatus\b|\bestado\b|did (he|she|it) (get|arrive)"),
    ("balance", r"\bsaldo\b|\bbalance\b"),
    ("language", r"\bidioma\b|\blanguage\b|\benglish\b|\bingl[eé]s\b|\bespa[nñ]ol\b"),
    ("thanks", r"\bgracias\b|\bthanks\b|\bthank you\b|👍|🙏"),
    ("greeting", r"\b(hola|hi|hello|buenas)\b"),
    ("help", r"\b(ayuda|help)\b"),
    ("cancel", r"\b(cancel|cancela)"),
]
_AMOUNT = re.compile(
    r"(?P<minus>-)?(?:(?P<sym>[$€£])\s?)?(?P<num>\d+(?:[.,]\d+)*)(?:\s?(?P<word>[a-zA-Zóé]+))?"
    r"(?:\s+(?P<word2>pesos|d[oó]lares|dollars|euros))?"
    r"(?:\s+and\s+(?P<cents>\d{1,2})\s+cents)?"
)
# The port matters: local wallets live at $127.0.0.1:4000/alice (without it the recipient
# became $127.0.0.1, a wallet that does not exist).
_POINTER = re.compile(r"\$[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::\d+)?(?:/\S*)?")
_URL = re.compile(r"https?://\S+")
_PHONE = re.compile(r"\+\d[\d ()-]{7,}\d")
_NAME = re.compile(
    r"(?:\b(?:a|al|to|para|from|entre|between|and|y)|,)\s+"
    r"((?:[A-ZÁÉÍÓÚÑ][\w'áéíóúñ]*)(?:\s+[A-ZÁÉÍÓÚÑ][\w'áéíóúñ]*)*)"
)
_DIRECT = re.compile(r"\b(?:pay|charge|bill)\s+([A-Z][\w']*)")
_WORDS = {
    "veinte": "20",
    "twenty": "20",
    "cien": "100",
    "hundred": "100",
    "diez": "10",
    "ten": "10",
}
_CURRENCY = {
    "$": "USD", "dollars": "USD", "dólares": "USD", "dolares": "USD", "bucks": "USD", "usd": "USD",
    "€": "EUR", "euros": "EUR", "eur": "EUR", "pesos": "MXN", "mxn": "MXN", "£": "GBP",
    "varos": "MXN",
}  # fmt: skip
_REPEATS = [
    (r"cada mes|every month|monthly|mensual", "P1M"),
    (r"cada semana|every week|weekly|semanal", "P1W"),
    (r"cada d[ií]a|every day|daily|diario", "P1D"),
    (r"cada quincena|every two weeks|biweekly", "P2W"),
]
# A limit's period may be said barely: "50 a week", "30 por semana".
_PERIODS = [
    (r"\bal mes\b|por mes|a month|per month|mensual|monthly", "P1M"),
    (r"por semana|a la semana|a week|per week|semanal|weekly", "P1W"),
    (r"al d[ií]a|por d[ií]a|a day|per day|diario|daily", "P1D"),
]
_SPANISH = re.compile(
    r"[áéíóúñ¿¡]|\b(le|de|para|hola|mándale|envía|pesos|gracias|quiero|cambiar|idioma|saldo"
    r"|estado|cobrale|pidele|divide|entre|porfa|manda|y|mi|mis|pagos|cuenta|quitar|desvincula"
    r"|desvincular)\b",
    re.I,
)
_PHRASES = [
    ("mándale 20 a Bob", "es"),
    ("send 15 dollars to Alice", "en"),
    ("envíale 100 pesos a María José", "es"),
]


def language_of(text: str) -> str:
    return "es" if _SPANISH.search(text) else "en"


def read_text(text: str) -> dict[str, Any]:
    """Canonical fields for the schema filler."""
    language = language_of(text)
    intent = _intent(text)
    amount, currency, recipient = None, None, None
    recipients: list[dict[str, Any]] = []
    split_total, split_between = None, None
    if intent in {"send_payment", "request_payment"}:
        names = _recipients(text)
        recipient = names[0] if names else None
        amounts = _amounts(text, names)
        amount, currency = amounts[0] if amounts else (None, None)
        if _SPLIT.search(text):
            people = [n for n in names]
            me = re.search(r"\b(me|yo|mí)\b", text, re.I) is not None
            split_total, amount = amount, None
            split_between = len(people) + (1 if me else 0)
            recipients = [{"destinatario": n, "monto": None, "currency": currency} for n in people]
        elif len(names) > 1:
            each = amounts if len(amounts) == len(names) else [(amount, currency)] * len(names)
            recipients = [
                {"destinatario": n, "monto": a, "currency": c}
                for n, (a, c) in zip(names, each, strict=True)
            ]
    recurrence = _repeat(text) if intent in {"send_payment", "request_payment"} else None
    if intent == "allowance":
        amount, currency = (_amounts(text, []) or [(None, None)])[0]
        recurrence = _period(text) if amount else None
    target = None
    if intent == "language":
        target = "en" if re.search(r"english|ingl[eé]s", text, re.I) else (
            "es" if re.search(r"espa[nñ]ol|spanish", text, re.I) else None)  # fmt: skip
    reply = {
        "send_payment": ("Entendido, te pediré confirmación.", "Got it, I'll ask you to confirm."),
        "greeting": ("¡Hola! ¿A quién le envío dinero?", "Hi! Who should I send money to?"),
        "unlink": ("Voy a desvincular tu billetera.", "I'll unlink your wallet."),
        "allowance": ("Cambiemos tu límite.", "Let's change your limit."),
        "schedules": ("Estos son tus pagos programados.", "These are your scheduled payments."),
    }.get(intent, ("¿En qué te ayudo?", "How can I help?"))
    return {
        "intent": intent,
        "amount": amount,
        "currency": currency,
        "recipient": recipient,
        "recipients": recipients,
        "split_total": split_total,
        "split_between": split_between,
        "recurrence": recurrence,
        "target_language": target,
        "language": language,
        "response": reply[0] if language == "es" else reply[1],
    }


def _intent(text: str) -> str:
    lower = text.lower()
    keyword = next((i for i, pattern in _KEYWORDS if re.search(pattern, lower)), None)
    if _NEGATION.search(text):
        return "cancel"
    if keyword == "fees" or (keyword is not None and not re.search(r"\d", text)):
        return keyword  # "status of my payment", "¿cuánto cuesta enviar dinero?"
    if _PAST.search(text) or _QUESTION.search(text):
        return "other"
    if _REQUEST.search(text):
        return "request_payment"
    if _VERB.search(text) or _SPLIT.search(text) or _TERSE.match(text):
        return "send_payment"
    return keyword or "other"


def _recipients(text: str) -> list[str]:
    for pattern in (_POINTER, _URL, _PHONE):
        found = [m.group(0).rstrip(".,;:!?") for m in pattern.finditer(text)]
        if found:
            return found
    names = [m.group(1) for m in _NAME.finditer(text)]
    direct = _DIRECT.search(text)
    if direct and direct.group(1) not in names:
        names.insert(0, direct.group(1))
    return names


def _amounts(text: str, names: list[str]) -> list[tuple[str | None, str | None]]:
    scan = text
    for name in names:
        scan = scan.replace(name, " ")
    out: list[tuple[str | None, str | None]] = []
    for m in _AMOUNT.finditer(scan):
        num = m.group("num")
        if "," in num and len(num.rsplit(",", 1)[1]) <= 2:
            num = num.replace(".", "").replace(",", ".")
        else:
            num = num.replace(",", "")
        word = (m.group("word") or "").lower()
        if word == "mil":
            num = str(int(float(num) * 1000)) if "." not in num else num
            word = (m.group("word2") or "").lower()
        if m.group("cents"):
            num = f"{num}.{int(m.group('cents')):02d}"
        if m.group("minus"):
            num = "-" + num
        currency = _CURRENCY.get(m.group("sym") or "") or _CURRENCY.get(word)
        out.append((num, currency))
    if out:
        return out
    for word, value in _WORDS.items():
        if re.search(rf"\b{word}\b", text, re.I):
            currency = next((c for k, c in _CURRENCY.items() if k in text.lower()), None)
            return [(value, currency)]
    return []


def _repeat(text: str) -> str | None:
    for pattern, duration in _REPEATS:
        if re.search(pattern, text, re.I):
            return duration
    return None


def _period(text: str) -> str | None:
    for pattern, duration in _PERIODS:
        if re.search(pattern, text, re.I):
            return duration
    return None


def read_image(data: bytes) -> dict[str, Any]:
    """A receipt reading: from the image's text tags when present, else from its bytes."""
    tags = _png_text(data) if data.startswith(b"\x89PNG") else _jpeg_comment(data)
    fields = dict(
        part.split("=", 1) for part in re.split(r"[;\n]", tags) if "=" in part
    )  # "total=23.50;currency=USD;payee=Tacos"
    fields = {k.strip().lower(): v.strip() for k, v in fields.items()}
    if fields.get("receipt", "").lower() in {"no", "false"}:
        return {"is_receipt": False, "total": None, "currency": None, "payee": None}
    if "total" in fields:
        return {
            "is_receipt": True,
            "total": fields["total"],
            "currency": fields.get("currency") or None,
            "payee": fields.get("payee") or None,
        }
    digest = int.from_bytes(hashlib.sha256(data).digest()[:4], "big")
    cents = 100 + digest % 9900
    return {
        "is_receipt": True,
        "total": f"{cents // 100}.{cents % 100:02d}",
        "currency": None,
        "payee": f"Tienda {digest % 100}",
    }


def _png_text(data: bytes) -> str:
    texts, pos = [], 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            texts.append(f"{key.decode('latin-1')}={value.decode('latin-1')}")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            compressed, rest = rest[0], rest[2:]
            _lang, _, rest = rest.partition(b"\0")
            _tkey, _, value = rest.partition(b"\0")
            raw = zlib.decompress(value) if compressed else value
            texts.append(f"{key.decode('latin-1')}={raw.decode('utf-8', 'replace')}")
        pos += 12 + length
    # A single "receipt" chunk may hold all fields: "receipt" → its value is the field list.
    return ";".join(
        t.split("=", 1)[1] if t.lower().startswith("receipt=") and ";" in t else t for t in texts
    )


def _jpeg_comment(data: bytes) -> str:
    at = data.find(b"\xff\xfe")
    if at < 0 or at + 4 > len(data):
        return ""
    (length,) = struct.unpack(">H", data[at + 2 : at + 4])
    return data[at + 4 : at + 2 + length].decode("utf-8", "replace")


def transcribe(data: bytes) -> tuple[str, str]:
    """(text, language) of a voice note."""
    tags = ogg.comments(data)
    text = tags.get(ogg.TRANSCRIPT_TAG, "").strip()
    if text:
        return text, tags.get(ogg.LANGUAGE_TAG) or language_of(text)
    digest = hashlib.sha256(data).digest()[0]
    return _PHRASES[digest % len(_PHRASES)]
