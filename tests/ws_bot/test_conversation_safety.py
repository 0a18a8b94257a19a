"""Nobody pays by accident: one live payment per user, "again?" before a repeat, corrections,
typed confirmation, cancel that clears everything, contacts that are asked about, not replaced.

Through the sandbox phone, with the contract-speaking fakes of `fake_backends.py` (the offline
and fake-OpenAI paths of the real llm_back are in `test_real_stack.py`).
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import Message, Phone, Stack, buttons_of, text_of


def _is_summary(m: Message) -> bool:
    return "Confirm" in buttons_of(m) or "Confirmar" in buttons_of(m)


def _approval(m: Message) -> bool:
    return bool(m["body"].get("interactive", {}).get("type") == "cta_url")


def tap_on(phone: Phone, wa_id: str, message: Message, title: str) -> None:
    """Tap `title` on this very message (not the newest one with that title)."""
    buttons = message["body"]["interactive"]["action"]["buttons"]
    option = next(b["reply"]["id"] for b in buttons if b["reply"]["title"] == title)
    phone.act(wa_id, type="button", id=option, title=title)


def _user(stack: Stack, uid: Any, name: str = "Ana", lang: str = "English") -> str:
    wa_id: str = uid()
    stack.phone.onboard(wa_id, name, pointer(stack.wallet("alice")), lang=lang)
    for who in ("bob", "carol", "dave"):
        n = stack.phone.count(wa_id)
        stack.phone.say(wa_id, f"save {who.title()} as {pointer(stack.wallet(who))}")
        stack.phone.wait_text(wa_id, "📇", after=n)
    return wa_id


def _summary(phone: Phone, wa_id: str, text: str) -> Message:
    n = phone.count(wa_id)
    phone.say(wa_id, text)
    return phone.wait_for(wa_id, _is_summary, after=n)


def test_two_identical_requests_never_give_two_payable_summaries(
    stack: Stack, uid, payments_api
) -> None:
    phone, wa_id = stack.phone, _user(stack, uid)
    first = _summary(phone, wa_id, "send 20 to Bob")
    n = phone.count(wa_id)
    phone.say(wa_id, "send 20 to Bob")
    phone.wait_text(wa_id, "The payment of 20.00 USD to Bob is already ready", after=n)
    assert not any(_is_summary(m) for m in phone.bot_messages(wa_id)[n:])
    # The same by wallet address is the same payment too.
    n = phone.count(wa_id)
    phone.say(wa_id, "send 20 to " + pointer(stack.wallet("bob")))
    phone.wait_text(wa_id, "already ready", after=n)
    n = phone.count(wa_id)
    tap_on(phone, wa_id, first, "Confirm")
    phone.wait_for(wa_id, _approval, after=n)
    # Minutes later, the same payment again: asked before anything is quoted.
    n = phone.count(wa_id)
    phone.say(wa_id, "send 20 to Bob")
    again = phone.wait_text(wa_id, "already sent 20.00 USD to Bob. Send it again?", after=n)
    assert buttons_of(again) == ["Yes", "No"]
    n = phone.count(wa_id)
    phone.say(wa_id, "no")
    phone.wait_text(wa_id, "I won't send 20.00 USD to Bob again", after=n)
    assert len([p for p in payments_api.list() if p["sender_wallet_url"].endswith("/alice")
                and p["amount"] == "20"]) >= 1  # fmt: skip
    # And "yes" to the question quotes it.
    n = phone.count(wa_id)
    phone.say(wa_id, "send 20 to Bob")
    phone.wait_text(wa_id, "Send it again?", after=n)
    n = phone.count(wa_id)
    phone.tap(wa_id, "Yes")
    summary = phone.wait_for(wa_id, _is_summary, after=n)
    assert "Receives: 20.00 USD" in text_of(summary)


def test_a_new_request_replaces_the_unconfirmed_one(stack: Stack, uid, payments_api) -> None:
    phone, wa_id = stack.phone, _user(stack, uid)
    older = _summary(phone, wa_id, "send 20 to Bob")
    n = phone.count(wa_id)
    phone.say(wa_id, "send 30 to Dave")
    phone.wait_text(wa_id, "I replaced your pending payment of 20.00 USD to Bob", after=n)
    newer = phone.wait_for(wa_id, _is_summary, after=n)
    assert "30.00 USD" in text_of(newer)
    assert "Dave" in text_of(newer)
    # The replaced quote is cancelled at op_api too.
    assert any(p["cancelled"] and p["amount"] == "20" for p in payments_api.list())
    n = phone.count(wa_id)
    tap_on(phone, wa_id, older, "Confirm")
    phone.wait_text(wa_id, "That summary (20.00 USD to Bob) was replaced", after=n)
    assert not any(_approval(m) for m in phone.bot_messages(wa_id)[n:])
    n = phone.count(wa_id)
    tap_on(phone, wa_id, newer, "Confirm")
    phone.wait_for(wa_id, _approval, after=n)


def test_corrections_edit_the_live_draft(stack: Stack, uid) -> None:
    phone, wa_id = stack.phone, _user(stack, uid)
    _summary(phone, wa_id, "send 20 to Bob")
    summary = text_of(_summary(phone, wa_id, "no, mejor 30"))
    assert "Receives: 30.00 USD" in summary
    assert "Bob" in summary
    summary = text_of(_summary(phone, wa_id, "mejor a Dave"))
    assert "Receives: 30.00 USD" in summary
    assert "Dave" in summary
    summary = text_of(_summary(phone, wa_id, "wait, make it 25"))
    assert "Receives: 25.00 USD" in summary
    assert "Dave" in summary
    summary = text_of(_summary(phone, wa_id, "send 20 to Bob... no wait, to Carol"))
    assert "Carol" in summary
    assert "Bob" not in summary
    # Only the newest summary is payable.
    n = phone.count(wa_id)
    phone.say(wa_id, "yes")
    phone.wait_for(wa_id, _approval, after=n)


def test_typed_yes_confirms_exactly_like_the_button(stack: Stack, uid) -> None:
    phone, wa_id = stack.phone, _user(stack, uid, "Sofía", "Español")
    n = phone.count(wa_id)
    phone.say(wa_id, "sí")
    phone.wait_text(wa_id, "No hay ningún pago esperando tu confirmación", after=n)
    for amount, word in enumerate(("sí", "dale", "confirmo", "ok"), start=5):
        summary = _summary(phone, wa_id, f"envía {amount} a Bob")
        n = phone.count(wa_id)
        phone.say(wa_id, word)
        phone.wait_for(wa_id, _approval, after=n)
        assert "Perfecto" not in " ".join(text_of(m) for m in phone.bot_messages(wa_id)[n:])
        # The button of the same summary is now spent: exactly once.
        n = phone.count(wa_id)
        tap_on(phone, wa_id, summary, "Confirmar")
        phone.wait_text(wa_id, f"Ese pago ({amount}.00 USD a Bob) ya fue confirmado", after=n)


def test_cancel_clears_the_draft_and_every_payment_waiting(stack: Stack, uid, payments_api) -> None:
    phone, wa_id = stack.phone, _user(stack, uid)
    n = phone.count(wa_id)
    phone.say(wa_id, "send 33")
    phone.wait_text(wa_id, "Who should I send 33.00 USD to", after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "cancel")
    phone.wait_text(wa_id, "Cancelled: 33.00 USD. Nothing was sent.", after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "send money to Bob")
    phone.wait_text(wa_id, "How much do you want to send to Bob", after=n)
    # A confirmed payment still awaiting approval at the wallet is cancelled and named.
    phone.say(wa_id, "cancel")
    _summary(phone, wa_id, "send 7 to Dave")
    n = phone.count(wa_id)
    phone.say(wa_id, "yes")
    phone.wait_for(wa_id, _approval, after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "cancel")
    phone.wait_text(wa_id, "Cancelled: 7.00 USD to Dave", after=n)
    assert any(p["cancelled"] and p["amount"] == "7" for p in payments_api.list())
    # It was not sent, so asking for it again is not a repeat.
    summary = text_of(_summary(phone, wa_id, "send 7 to Dave"))
    assert "Receives: 7.00 USD" in summary


def test_contacts_are_asked_about_not_replaced_and_found_by_first_name(stack: Stack, uid) -> None:
    phone, wa_id = stack.phone, _user(stack, uid)
    for name, who in (("Juan Pérez", "bob"), ("Juan García", "dave"), ("José", "carol")):
        n = phone.count(wa_id)
        phone.say(wa_id, f"save {name} as {pointer(stack.wallet(who))}")
        phone.wait_text(wa_id, f"Saved {name}", after=n)
    # Saving over a name asks first; "no" keeps the old one.
    n = phone.count(wa_id)
    phone.say(wa_id, "save juan perez as " + pointer(stack.wallet("carol")))
    asked = phone.wait_text(wa_id, "You already have Juan Pérez saved", after=n)
    assert stack.wallet("bob") in text_of(asked)
    assert buttons_of(asked) == ["Yes", "No"]
    n = phone.count(wa_id)
    phone.tap(wa_id, "No")
    phone.wait_text(wa_id, "I kept juan perez as it was", after=n)
    # Two Juans: a list to choose from.
    n = phone.count(wa_id)
    phone.say(wa_id, "send 100 to Juan")
    which = phone.wait_text(wa_id, "several contacts called Juan", after=n)
    assert sorted(buttons_of(which)) == ["Juan García", "Juan Pérez"]
    n = phone.count(wa_id)
    phone.pick(wa_id, "Juan García")
    summary = text_of(phone.wait_for(wa_id, _is_summary, after=n))
    assert "Juan García" in summary
    assert stack.wallet("dave") in summary
    # The choice may be typed too.
    n = phone.count(wa_id)
    phone.say(wa_id, "send 101 to Juan")
    phone.wait_text(wa_id, "several contacts called Juan", after=n)
    summary = text_of(_summary(phone, wa_id, "juan perez"))
    assert "Juan Pérez" in summary
    # Accents and case do not matter.
    summary = text_of(_summary(phone, wa_id, "send 4 to jose"))
    assert "José" in summary
    # "Yes" replaces.
    n = phone.count(wa_id)
    phone.say(wa_id, "save Juan Pérez as " + pointer(stack.wallet("carol")))
    phone.wait_text(wa_id, "Replace it with", after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "yes")
    phone.wait_text(wa_id, "Saved Juan Pérez: " + stack.wallet("carol"), after=n)


def test_answers_status_balance_history_and_language(stack: Stack, uid) -> None:
    phone, wa_id = stack.phone, _user(stack, uid)
    n = phone.count(wa_id)
    phone.say(wa_id, "what's my balance?")
    balance = text_of(phone.wait_text(wa_id, "can't see your balance", after=n))
    assert stack.wallet("alice") in balance
    n = phone.count(wa_id)
    phone.say(wa_id, "status")
    phone.wait_text(wa_id, "haven't sent any payments", after=n)
    _summary(phone, wa_id, "send 9 to Bob")
    n = phone.count(wa_id)
    phone.say(wa_id, "ok")
    approval = text_of(phone.wait_for(wa_id, _approval, after=n))
    assert "Approve the payment of 9.00 USD to Bob" in approval
    n = phone.count(wa_id)
    phone.say(wa_id, "status of my payment")
    phone.wait_text(wa_id, "Your last payment: 9.00 USD to Bob — pending", after=n)
    # "idioma" switches the language without the first welcome again.
    n = phone.count(wa_id)
    phone.say(wa_id, "idioma")
    listed = phone.wait_for(wa_id, lambda m: "Español" in buttons_of(m), after=n)
    assert "Soy Paguito" not in text_of(listed)
    n = phone.count(wa_id)
    phone.say(wa_id, "español")
    done = text_of(phone.wait_text(wa_id, "te hablaré en español", after=n))
    assert "🇲🇽" not in done
    n = phone.count(wa_id)
    phone.say(wa_id, "¿ya le llegó?")
    phone.wait_text(wa_id, "Tu último pago: 9.00 USD a Bob", after=n)


def test_history_lists_payments_sent_and_received(stack: Stack, uid, payments_api) -> None:
    phone, ana, bob = stack.phone, uid(), uid()
    phone.onboard(bob, "Bob", pointer(stack.wallet("bob")))
    ana = _user(stack, lambda: ana, "Ana")
    _summary(phone, ana, "send 11 to Bob")
    n = phone.count(ana)
    phone.say(ana, "yes")
    phone.wait_for(ana, _approval, after=n)
    paid = next(p for p in payments_api.list() if p["amount"] == "11" and not p["cancelled"])
    n_bob = phone.count(bob)
    payments_api.outcome(paid["id"], "completed")
    phone.wait_text(bob, "Ana sent you 11.00 USD", after=n_bob, timeout=30)
    n_bob = phone.count(bob)
    phone.say(bob, "thanks!")  # the recipient answering the notice is not told to "try send…"
    thanked = text_of(phone.wait_text(bob, "You're welcome", after=n_bob))
    assert "try" not in thanked
    n = phone.count(ana)
    phone.say(ana, "history")
    sent = text_of(phone.wait_text(ana, "Your recent payments sent", after=n))
    assert "11.10 USD → Bob · sent" in sent
    n = phone.count(bob)
    phone.say(bob, "history")
    received = text_of(phone.wait_text(bob, "Received:", after=n))
    assert "11.00 USD ← Ana" in received


def test_a_welcome_without_a_profile_name_has_no_gap(stack: Stack, uid) -> None:
    phone, wa_id = stack.phone, uid()
    phone.say(wa_id, "hola")
    welcome = text_of(phone.wait_for(wa_id, lambda m: "Español" in buttons_of(m)))
    assert welcome.startswith("¡Hola! 👋")


def test_a_wallet_address_without_the_dollar_sign_is_understood(stack: Stack, uid) -> None:
    phone, wa_id = stack.phone, uid()
    phone.say(wa_id, "hola", name="Lu")
    phone.wait_for(wa_id, lambda m: "English" in buttons_of(m))
    n = phone.count(wa_id)
    phone.pick(wa_id, "English")
    phone.wait_text(wa_id, "wallet address", after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, pointer(stack.wallet("alice")).removeprefix("$"))
    phone.wait_text(wa_id, "Wallet registered: " + stack.wallet("alice"), after=n)


def test_a_hostile_message_does_not_stall_anyone(stack: Stack, uid) -> None:
    phone, attacker, other = stack.phone, uid(), uid()
    phone.onboard(attacker, "Mallory", pointer(stack.wallet("alice")))
    phone.onboard(other, "Olga", pointer(stack.wallet("bob")))
    n_attacker, n_other = phone.count(attacker), phone.count(other)
    phone.say(attacker, "save a" + " " * 4000 + "y")
    phone.say(other, "help")
    # Generous bounds: the backtracking version took minutes here.
    phone.wait_text(other, "never move money", after=n_other, timeout=10)
    phone.wait_for(attacker, lambda m: True, after=n_attacker, timeout=10)
    assert httpx.get(stack.bot.url + "/health", timeout=5).status_code == 200


def test_cancel_on_a_confirmed_summary_cancels_that_payment_only(
    stack: Stack, uid, payments_api
) -> None:
    phone, wa_id = stack.phone, _user(stack, uid)
    dave = _summary(phone, wa_id, "send 13 to Dave")
    n = phone.count(wa_id)
    phone.say(wa_id, "yes")
    phone.wait_for(wa_id, _approval, after=n)
    _summary(phone, wa_id, "send 14 to Bob")
    n = phone.count(wa_id)
    phone.say(wa_id, "yes")
    phone.wait_for(wa_id, _approval, after=n)
    n = phone.count(wa_id)
    tap_on(phone, wa_id, dave, "Cancel")
    phone.wait_text(wa_id, "Cancelled: 13.00 USD to Dave. Nothing was sent.", after=n)
    by_amount = {p["amount"]: p["cancelled"] for p in payments_api.list()
                 if p["sender_wallet_url"].endswith("/alice")}  # fmt: skip
    assert by_amount["13"] is True
    assert not any(p["cancelled"] for p in payments_api.list() if p["amount"] == "14")


def test_an_absurdly_long_amount_is_asked_for_again(stack: Stack, uid) -> None:
    phone, wa_id = stack.phone, _user(stack, uid)
    n = phone.count(wa_id)
    phone.say(wa_id, "send " + "9" * 300 + " to Bob")
    phone.wait_text(wa_id, "How much do you want to send to Bob", after=n)
