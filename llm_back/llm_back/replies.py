"""Reply texts in Spanish and English. None of them ever says that money moved.

llm_back only understands; ws_bot asks for the confirmation and op_api moves the money. So a
reply can restate what was understood, ask for what is missing, or explain — nothing more.
"""

from __future__ import annotations

import re

from shared.contracts import Intent
from shared.wallet_address import find_wallet_address

# Wording that would claim a payment happened. Model-written replies containing it are replaced.
_CLAIMS = re.compile(
    r"\b(ya\s+)?(envi[ée]|mand[ée]|pagu[ée]|transfer[ií]|se\s+(envi[óo]|mand[óo]|pag[óo]|"
    r"transfiri[óo])|enviad[oa]s?|transferid[oa]s?|pagad[oa]s?|sent|paid|transferred|"
    r"completed|completad[oa])\b",
    re.IGNORECASE,
)


def claims_money_moved(text: str) -> bool:
    return bool(_CLAIMS.search(text))


def _amount(monto: str | None, currency: str | None) -> str:
    if monto is None:
        return ""
    return f"{monto} {currency}" if currency else monto


def for_result(
    intent: str,
    monto: str | None,
    currency: str | None,
    destinatario: str | None,
    language: str,
    name: str = "",
) -> str:
    """The reply for an understood message (templated, so it is always safe)."""
    es = language != "en"
    amount = _amount(monto, currency)
    if intent == Intent.SEND_PAYMENT:
        if amount and destinatario:
            return (
                f"Entendido: enviar {amount} a {destinatario}. Te pediré que lo confirmes "
                "antes de mover cualquier dinero."
                if es
                else f"Got it: send {amount} to {destinatario}. I'll ask you to confirm "
                "before any money moves."
            )
        if destinatario:
            return (
                f"¿Cuánto quieres enviarle a {destinatario}?"
                if es
                else f"How much do you want to send to {destinatario}?"
            )
        if amount:
            return (
                f"¿A quién quieres enviarle {amount}?"
                if es
                else f"Who do you want to send {amount} to?"
            )
        return (
            "¿Cuánto quieres enviar y a quién?"
            if es
            else "How much do you want to send, and to whom?"
        )
    hello = f" {name.split()[0]}" if name.strip() else ""
    texts: dict[str, tuple[str, str]] = {
        Intent.GREETING: (
            f"¡Hola{hello}! Puedo ayudarte a enviar dinero. Escribe, por ejemplo: "
            "«mándale 20 a Bob».",
            f'Hi{hello}! I can help you send money. Try, for example: "send 20 to Bob".',
        ),
        Intent.HELP: (
            "Dime cuánto y a quién: «mándale 20 a Bob», «envía 15 dólares a "
            "$wallet.example/ana». También entiendo notas de voz y fotos de tickets. "
            "Siempre te pediré confirmación antes de pagar.",
            'Tell me how much and to whom: "send 20 to Bob", "pay $wallet.example/ana 15". '
            "I also understand voice notes and photos of receipts. I always ask you to "
            "confirm before paying.",
        ),
        Intent.HISTORY: ("Aquí tienes tus pagos recientes.", "Here are your recent payments."),
        Intent.CANCEL: (
            "De acuerdo, lo cancelo. No se moverá ningún dinero.",
            "OK, cancelled. No money will move.",
        ),
        Intent.CONFIRM: ("Perfecto.", "Great."),
    }
    fallback = (
        "No entendí bien. Puedo enviar dinero por ti: escribe «mándale 20 a Bob».",
        'I didn\'t quite get that. I can send money for you: try "send 20 to Bob".',
    )
    es_text, en_text = texts.get(intent, fallback)
    return es_text if es else en_text


def media_unavailable(kind: str, language: str) -> str:
    """When a voice note or an image cannot be read right now (no key, or OpenAI is down)."""
    es = language != "en"
    if kind == "audio":
        return (
            "Ahora mismo no puedo escuchar notas de voz. ¿Me lo escribes? Por ejemplo: "
            "«mándale 20 a Bob»."
            if es
            else "I can't listen to voice notes right now. Could you type it? For example: "
            '"send 20 to Bob".'
        )
    return (
        "Ahora mismo no puedo leer imágenes. Escríbeme el monto y a quién pagar."
        if es
        else "I can't read images right now. Please type the amount and who to pay."
    )


# Links and payment pointers in a model reply could only come from an injected instruction.
_WWW = re.compile(r"\bwww\.", re.IGNORECASE)


def safe_model_reply(text: str | None, fallback: str) -> str:
    """A model-written reply if short, claiming nothing and without links; else the template."""
    if not text or not text.strip() or len(text) > 600:
        return fallback
    if claims_money_moved(text) or find_wallet_address(text) or _WWW.search(text):
        return fallback
    return text.strip()
