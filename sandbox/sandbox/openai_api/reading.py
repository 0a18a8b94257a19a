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
_PAST = re.compile(r"\b(mand[ée]|envi[ée]|pagu[ée]|sent|paid)\b", re.I)
_AMOUNT = re.compile(r"(?:(?P<sym>[$€£])\s?)?(?P<num>\d+(?:[.,]\d+)*)(?:\s?(?P<word>[a-zA-Zóé]+))?")
# The port matters: local wallets live at $127.0.0.1:4000/alice (without it the recipient
# became $127.0.0.1, a wallet that does not exist).
_POINTER = re.compile(r"\$[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::\d+)?(?:/\S*)?")
_URL = re.compile(r"https?://\S+")
_PHONE = re.compile(r"\+\d[\d ()-]{7,}\d")
_NAME = re.compile(
    r"\b(?:a|to|para)\s+((?:[A-ZÁÉÍÓÚÑ][\w'áéíóúñ]*)(?:\s+[A-ZÁÉÍÓÚÑ][\w'áéíóúñ]*)*)"
)
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
}  # fmt: skip
_SPANISH = re.compile(r"[áéíóúñ¿¡]|\b(le|de|para|hola|mándale|envía|pesos|gracias|quiero)\b", re.I)
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
    lower = text.lower()
    intent = "other"
    if _VERB.search(text) and not _PAST.search(text):
        intent = "send_payment"
    elif re.search(r"\b(hola|hi|hello|buenas)\b", lower):
        intent = "greeting"
    elif re.search(r"\b(ayuda|help)\b", lower):
        intent = "help"
    elif re.search(r"\b(cancel|cancela)", lower):
        intent = "cancel"
    amount, currency, recipient = None, None, None
    if intent == "send_payment":
        recipient = _recipient(text)
        amount, currency = _amount(text, recipient)
    reply = {
        "send_payment": ("Entendido, te pediré confirmación.", "Got it, I'll ask you to confirm."),
        "greeting": ("¡Hola! ¿A quién le envío dinero?", "Hi! Who should I send money to?"),
    }.get(intent, ("¿En qué te ayudo?", "How can I help?"))
    return {
        "intent": intent,
        "amount": amount,
        "currency": currency,
        "recipient": recipient,
        "language": language,
        "response": reply[0] if language == "es" else reply[1],
    }


def _recipient(text: str) -> str | None:
    for pattern in (_POINTER, _URL, _PHONE):
        m = pattern.search(text)
        if m:
            return m.group(0).rstrip(".,;:!?")
    m = _NAME.search(text)
    return m.group(1) if m else None


def _amount(text: str, recipient: str | None) -> tuple[str | None, str | None]:
    scan = text.replace(recipient, " ") if recipient else text
    for m in _AMOUNT.finditer(scan):
        num = m.group("num")
        if "," in num and len(num.rsplit(",", 1)[1]) <= 2:
            num = num.replace(".", "").replace(",", ".")
        else:
            num = num.replace(",", "")
        word = (m.group("word") or "").lower()
        currency = _CURRENCY.get(m.group("sym") or "") or _CURRENCY.get(word)
        return num, currency
    for word, value in _WORDS.items():
        if re.search(rf"\b{word}\b", text, re.I):
            currency = next((c for k, c in _CURRENCY.items() if k in text.lower()), None)
            return value, currency
    return None, None


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
