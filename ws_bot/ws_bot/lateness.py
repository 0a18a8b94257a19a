"""Late and out-of-order deliveries. After an outage Meta redelivers for days: a "send 20 to
Bob" or a Confirm tap from long ago must not move money now, and an older message must never
undo a newer one. Pure functions; intake.py applies them."""

from __future__ import annotations

from ws_bot import buttons
from ws_bot.graph import Messenger
from ws_bot.incoming import Incoming
from ws_bot.texts import t


def is_late(sent_at: float, now: float, limit: float) -> bool:
    """Sent longer than `limit` seconds ago (an unknown time, 0, is never late)."""
    return sent_at > 0 and now - sent_at > limit


def is_superseded(sent_at: float, newest_handled: float | None) -> bool:
    """Sent before a message of the same user that was already handled."""
    return sent_at > 0 and newest_handled is not None and sent_at < newest_handled


def acts_on_payment(inc: Incoming) -> bool:
    """A tap that confirms or cancels a payment (texts are judged after understanding)."""
    return inc.kind == "button" and isinstance(buttons.parse(inc.data), buttons.PayTap)


def describe_age(seconds: float, lang: str | None) -> str:
    minutes = int(seconds // 60)
    hours, days = minutes // 60, minutes // 1440
    es = (lang or "es")[:2] != "en"
    if days:
        return f"{days} {'días' if es else 'days'}" if days > 1 else ("1 día" if es else "1 day")
    if hours:
        return f"{hours} h"
    return f"{max(minutes, 1)} min"


async def refuse(say: Messenger, lang: str | None, inc: Incoming) -> bool:
    """When `inc` is stale, tell the user it came too late to act on (True: it was refused)."""
    if not inc.stale:
        return False
    await say.text(inc.wa_id, t(lang, "late_delivery", age=describe_age(inc.stale, lang)))
    return True
