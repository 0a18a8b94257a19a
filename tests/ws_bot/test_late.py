"""Late and out-of-order deliveries through the sandbox phone: after an outage Meta redelivers
old messages; they must not move money, and an older message never undoes a newer one."""

from __future__ import annotations

from typing import Any

from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import Stack, buttons_of, text_of

THREE_DAYS = 3 * 24 * 3600


def _approval(m: dict[str, Any]) -> bool:
    return bool(m["body"].get("interactive", {}).get("type") == "cta_url")


def _summary(stack: Stack, wa_id: str, text: str) -> dict[str, Any]:
    n = stack.phone.count(wa_id)
    sent = stack.phone.say(wa_id, text)
    stack.phone.wait_for(wa_id, lambda m: "Confirm" in buttons_of(m), after=n)
    return sent


def test_a_three_day_old_payment_message_is_not_acted_on(stack: Stack, uid, payments_api) -> None:
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Lia", pointer(stack.wallet("alice")))
    n = phone.count(wa_id)
    old = phone.act(
        wa_id, type="text", text="send 20 to " + pointer(stack.wallet("bob")), ageSeconds=THREE_DAYS
    )
    late = phone.wait_text(wa_id, "reached me late", after=n)
    assert "3 days" in text_of(late)
    assert not [p for p in payments_api.list() if p["idempotency_key"] == old["id"]]
    assert not [m for m in phone.bot_messages(wa_id)[n:] if "Confirm" in buttons_of(m)]


def test_a_three_day_old_confirm_tap_is_not_acted_on(stack: Stack, uid) -> None:
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Teo", pointer(stack.wallet("alice")))
    _summary(stack, wa_id, "send 4 to " + pointer(stack.wallet("bob")))
    n = phone.count(wa_id)
    phone.act(wa_id, type="button", title="Confirm", ageSeconds=THREE_DAYS)
    phone.wait_text(wa_id, "reached me late", after=n)
    assert not [m for m in phone.bot_messages(wa_id)[n:] if _approval(m)]
    # Tapped again now, it works.
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")
    phone.wait_for(wa_id, _approval, after=n)


def test_an_older_cancel_never_undoes_a_newer_payment(stack: Stack, uid) -> None:
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Ivo", pointer(stack.wallet("alice")))
    _summary(stack, wa_id, "send 3 to " + pointer(stack.wallet("bob")))
    n = phone.count(wa_id)
    phone.act(wa_id, type="text", text="cancel", ageSeconds=60)  # written before "send 3"
    phone.wait_text(wa_id, "reached me late", after=n)
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")
    phone.wait_for(wa_id, _approval, after=n)  # the newer payment still stands
