"""Reply texts in Spanish and English. None of them ever says that money moved.

llm_back only understands; ws_bot asks for the confirmation and op_api moves the money. So a
reply can restate what was understood, ask for what is missing, or explain — nothing more.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from llm_back.amounts import scale_of
from llm_back.extraction import Part, Understood
from shared.contracts import AmountIssue, Intent
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
        Intent.STATUS: (
            "Para ver cómo va un pago escribe «historial»: ahí aparece el estado de cada uno.",
            'To see how a payment is doing, type "history": it shows the status of each one.',
        ),
        Intent.BALANCE: (
            "Tu saldo está en tu billetera. Aquí puedo mostrarte tus pagos recientes: escribe "
            "«historial».",
            'Your balance is in your wallet. Here I can show your recent payments: type "history".',
        ),
        Intent.FEES: (
            "Antes de confirmar cada pago te muestro cuánto se descontará de tu cuenta, con "
            "cualquier comisión incluida, y cuánto recibirá la otra persona.",
            "Before you confirm a payment I show you how much will leave your account, any fee "
            "included, and how much the other person will receive.",
        ),
        Intent.THANKS: (
            "¡De nada! Aquí estoy cuando quieras enviar dinero.",
            "You're welcome! I'm here whenever you want to send money.",
        ),
        Intent.LANGUAGE: (
            "¿En qué idioma prefieres que te hable? Escribe «español» o «English».",
            'Which language do you prefer? Type "español" or "English".',
        ),
        Intent.UNLINK: (
            "Entendido: desvincular tu billetera de Paguito. Te pediré que lo confirmes antes.",
            "Got it: unlink your wallet from Paguito. I'll ask you to confirm first.",
        ),
        Intent.ALLOWANCE: (
            "¿Cuál quieres que sea tu límite? Por ejemplo: «50 dólares por semana».",
            'What should your limit be? For example: "50 dollars a week".',
        ),
        Intent.SCHEDULES: (
            "Aquí tienes tus pagos programados.",
            "Here are your scheduled payments.",
        ),
    }
    fallback = (
        "No entendí bien. Puedo enviar dinero por ti: escribe «mándale 20 a Bob».",
        'I didn\'t quite get that. I can send money for you: try "send 20 to Bob".',
    )
    es_text, en_text = texts.get(intent, fallback)
    return es_text if es else en_text


def reply(u: Understood, name: str, asset_code: str, asset_scale: int) -> str:
    """The reply for everything understood, the new fields included (templated: always safe)."""
    es = u.language != "en"
    if u.amount_issue is not None:
        return _amount_issue(u, asset_code, asset_scale)
    if u.intent == Intent.LANGUAGE and u.target_language is not None:
        return (
            "Listo, te hablaré en español."
            if u.target_language == "es"
            else "Done, I'll speak English from now on."
        )
    if u.intent == Intent.REQUEST_PAYMENT and not u.parts:
        return _request(u, es)
    if u.intent == Intent.ALLOWANCE and u.monto is not None:
        return _allowance(u, es)
    if u.intent in {Intent.SEND_PAYMENT, Intent.REQUEST_PAYMENT} and (u.parts or u.split_total):
        return _several(u, es)
    text = for_result(u.intent, u.monto, u.currency, u.destinatario, u.language, name)
    if u.intent == Intent.SEND_PAYMENT and u.recurrence and u.monto and u.destinatario:
        return _with_repeat(text, u.recurrence, es)
    return text


def _request(u: Understood, es: bool) -> str:
    amount = _amount(u.monto, u.currency)
    who = u.destinatario
    if amount and who:
        text = (
            f"Entendido: pedirle {amount} a {who}. Te pediré que lo confirmes antes de enviarle "
            "la solicitud."
            if es
            else f"Got it: request {amount} from {who}. I'll ask you to confirm before the "
            "request goes out."
        )
        return _with_repeat(text, u.recurrence, es) if u.recurrence else text
    if who:
        return (
            f"¿Cuánto quieres pedirle a {who}?" if es else f"How much do you want to ask {who} for?"
        )
    if amount:
        return f"¿A quién quieres pedirle {amount}?" if es else f"Who should I ask for {amount}?"
    return (
        "¿Cuánto quieres pedir y a quién?"
        if es
        else "How much do you want to request, and from whom?"
    )


def _allowance(u: Understood, es: bool) -> str:
    limit = _amount(u.monto, u.currency)
    if u.recurrence is None:
        return (
            f"¿Tu límite de {limit} es por día, por semana o por mes?"
            if es
            else f"Is your {limit} limit per day, per week or per month?"
        )
    every = repeat_words(u.recurrence, es)
    return (
        f"Entendido: un límite de {limit} {every}. Te pediré que lo confirmes antes de cambiarlo."
        if es
        else f"Got it: a limit of {limit} {every}. I'll ask you to confirm before changing it."
    )


def _several(u: Understood, es: bool) -> str:
    parts = u.parts or ((Part(u.destinatario, u.monto, u.currency),) if u.destinatario else ())
    request = u.intent == Intent.REQUEST_PAYMENT
    if not parts:
        return (
            f"¿Entre quiénes divido {u.split_total}?"
            if es
            else f"Who should I split {u.split_total} between?"
        )
    missing = next((p for p in parts if p.monto is None), None)
    if missing is not None:
        verb = ("pedirle", "ask") if request else ("enviarle", "send")
        return (
            f"¿Cuánto quieres {verb[0]} a {missing.destinatario}?"
            if es
            else f"How much do you want to {verb[1]} {missing.destinatario}?"
        )
    joiner = " y " if es else " and "
    to = "a" if es else "from" if request else "to"
    items = [f"{_amount(p.monto, p.currency)} {to} {p.destinatario}" for p in parts]
    if request:
        head = "Entendido: pedir " if es else "Got it: request "
    else:
        head = "Entendido: enviar " if es else "Got it: send "
    listed = ", ".join(items[:-1]) + joiner + items[-1] if len(items) > 1 else items[0]
    total = sum(Decimal(p.monto or "0") for p in parts)
    extra = ""
    if u.split_total is not None:
        yours = (u.split_between or len(parts)) > len(parts)
        extra = (
            f" ({u.split_total} dividido entre {u.split_between or len(parts)}"
            + ("; tu parte se queda contigo)" if yours else ")")
            if es
            else f" ({u.split_total} split {u.split_between or len(parts)} ways"
            + ("; your own share stays with you)" if yours else ")")
        )
    elif len(parts) > 1:
        extra = f" ({total} en total)" if es else f" ({total} in total)"
    text = head + listed + extra + _confirm_first(request, es)
    return _with_repeat(text, u.recurrence, es) if u.recurrence else text


def _confirm_first(request: bool, es: bool) -> str:
    if request:
        return (
            ". Te pediré que lo confirmes antes de enviar las solicitudes."
            if es
            else ". I'll ask you to confirm before the requests go out."
        )
    return (
        ". Te pediré que lo confirmes antes de mover cualquier dinero."
        if es
        else ". I'll ask you to confirm before any money moves."
    )


_REPEATS = {
    "P1D": ("cada día", "every day"),
    "P1W": ("cada semana", "every week"),
    "P2W": ("cada dos semanas", "every two weeks"),
    "P1M": ("cada mes", "every month"),
    "P1Y": ("cada año", "every year"),
}
_UNITS = {"D": ("días", "days"), "W": ("semanas", "weeks"), "M": ("meses", "months"),
          "Y": ("años", "years")}  # fmt: skip


def repeat_words(duration: str, es: bool) -> str:
    """ "P1M" → "cada mes" / "every month"; "P3D" → "cada 3 días"."""
    if duration in _REPEATS:
        return _REPEATS[duration][0 if es else 1]
    count, unit = duration[1:-1], duration[-1]
    words = _UNITS.get(unit, ("", ""))
    return f"cada {count} {words[0]}" if es else f"every {count} {words[1]}"


def _with_repeat(text: str, duration: str, es: bool) -> str:
    note = (
        f" Pediste repetirlo {repeat_words(duration, es)}."
        if es
        else f" You asked to repeat it {repeat_words(duration, es)}."
    )
    return text + note


def _amount_issue(u: Understood, asset_code: str, asset_scale: int) -> str:
    es = u.language != "en"
    # With several recipients, the one whose amount was refused.
    who = next((p.destinatario for p in u.parts if p.monto is None), u.destinatario)
    request = u.intent == Intent.REQUEST_PAYMENT
    if u.intent == Intent.ALLOWANCE:
        ask = "¿Cuál quieres que sea tu límite?" if es else "What should your limit be?"
    elif es:
        ask = f"¿Cuánto quieres {'pedirle' if request else 'enviarle'} a {who}?" if who else (
            f"¿Cuánto quieres {'pedir' if request else 'enviar'}?")  # fmt: skip
    else:
        ask = (f"How much do you want to {'ask' if request else 'send'} {who}"
               f"{' for' if request else ''}?" if who else
               f"How much do you want to {'request' if request else 'send'}?")  # fmt: skip
    said = u.rejected_amount or ""
    if u.amount_issue == AmountIssue.NEGATIVE:
        head = "No puedo usar una cantidad negativa." if es else "I can't use a negative amount."
        return f"{head} {ask}"
    if u.amount_issue == AmountIssue.TOO_LARGE:
        head = "Esa cantidad es demasiado grande." if es else "That amount is far too large."
        return f"{head} {ask}"
    if u.amount_issue == AmountIssue.ZERO:
        head = (
            "El monto tiene que ser mayor que cero." if es else "The amount must be more than zero."
        )
        return f"{head} {ask}"
    currency = next((p.currency for p in u.parts if p.monto is None), None) or u.currency
    scale = scale_of(currency, asset_code, asset_scale)
    code = currency or asset_code
    step = Decimal(1).scaleb(-scale)
    down = Decimal(said).quantize(step, rounding=ROUND_DOWN)
    up = Decimal(said).quantize(step, rounding=ROUND_UP)
    return (
        f"{said} tiene más decimales de los que admite {code} ({scale}). "
        f"¿Quisiste decir {down} o {up}? {ask}"
        if es
        else f"{said} has more decimals than {code} allows ({scale}). "
        f"Did you mean {down} or {up}? {ask}"
    )


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
