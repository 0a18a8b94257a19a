"""Onboarding, address book, commands, media and failures, through the sandbox phone.

llm_back, op_api and the wallets are the contract-speaking fakes of `fake_backends.py` here,
so failures (a service down) can be switched on; `test_real_stack.py` runs the real services.
"""

from __future__ import annotations

import base64
import re
import time

from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import Stack, buttons_of, text_of


def test_onboarding_in_spanish_checks_the_wallet(stack: Stack, uid) -> None:
    phone, wa_id = stack.phone, uid()
    phone.say(wa_id, "hola", name="Lupe")
    welcome = phone.wait_for(wa_id, lambda m: "Español" in buttons_of(m))
    assert welcome["body"]["interactive"]["type"] == "list"
    n = phone.count(wa_id)
    phone.say(wa_id, "send 5 to bob")  # before choosing: the language question again
    phone.wait_for(wa_id, lambda m: "Español" in buttons_of(m), after=n)
    n = phone.count(wa_id)
    phone.pick(wa_id, "Español")
    phone.wait_text(wa_id, "billetera", after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "no sé")
    phone.wait_text(wa_id, "dirección de tu billetera", after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "es " + pointer(stack.wallet("nobody")))
    phone.wait_text(wa_id, "No encontré una billetera", after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "mi billetera es " + pointer(stack.wallet("alice")) + ".")
    phone.wait_text(wa_id, "Billetera registrada", after=n)
    # Issue 17: then linked, with the allowance chosen from a list in the wallet's asset.
    choices = phone.wait_for(wa_id, lambda m: "Preguntarme cada vez" in buttons_of(m), after=n)
    assert buttons_of(choices) == [
        "Preguntarme cada vez",
        "Hasta 20 USD por semana",
        "Hasta 50 USD por semana",
        "Hasta 100 USD al mes",
    ]
    assert "demuestra que es tuya" in text_of(choices)
    linked = phone.link(wa_id, "Preguntarme cada vez", after=n)
    assert "Billetera vinculada · te pediré aprobar cada pago" in text_of(linked)
    n = phone.count(wa_id)
    phone.say(wa_id, "menú")
    menu = phone.wait_for(wa_id, lambda m: "Historial" in buttons_of(m), after=n)
    assert buttons_of(menu) == ["Enviar dinero", "Historial", "Ayuda"]
    n = phone.count(wa_id)
    phone.tap(wa_id, "Ayuda")
    phone.wait_text(wa_id, "Nunca muevo dinero", after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "language")
    phone.wait_for(wa_id, lambda m: "English" in buttons_of(m), after=n)
    n = phone.count(wa_id)
    phone.pick(wa_id, "English")
    phone.wait_text(wa_id, "I'll speak English", after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "wallet")
    said = phone.wait_text(wa_id, "Your wallet: " + stack.wallet("alice"), after=n)
    assert "linked: I'll ask you to approve each payment" in text_of(said)
    n = phone.count(wa_id)
    phone.say(wa_id, "my wallet is " + pointer(stack.wallet("dave")))
    phone.wait_text(wa_id, "Wallet registered: " + stack.wallet("dave"), after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "wallet")
    said = phone.wait_text(wa_id, "Your wallet: " + stack.wallet("dave"), after=n)
    assert 'not linked: write "link"' in text_of(said)  # a new wallet is linked anew


def test_address_book_by_text_and_contact_cards(stack: Stack, uid) -> None:
    phone, alice, bob = stack.phone, uid(), uid()
    phone.onboard(bob, "Bob", pointer(stack.wallet("bob")))
    phone.onboard(alice, "Alice", pointer(stack.wallet("alice")))
    n = phone.count(alice)
    phone.say(alice, "save Carol as " + pointer(stack.wallet("carol")))
    phone.wait_text(alice, "Saved Carol: " + stack.wallet("carol"), after=n)
    n = phone.count(alice)
    phone.say(alice, "guarda a Zoe como " + pointer(stack.wallet("nobody")))
    phone.wait_text(alice, "couldn't find a wallet", after=n)
    # A card of a registered user: their own wallet is used, but never shown.
    n = phone.count(alice)
    phone.act(alice, type="contacts", contacts=[{"name": "Bobby", "phone": f"+{bob}", "waId": bob}])
    saved = text_of(phone.wait_text(alice, "Saved Bobby", after=n))
    assert "on Paguito" in saved
    assert stack.wallet("bob") not in saved
    # Paying them (by the card, or by their number) never shows their wallet either.
    for to in ("Bobby", f"+{bob}"):
        n = phone.count(alice)
        phone.say(alice, f"send 2 to {to}")
        summary = text_of(phone.wait_for(alice, lambda m: "Confirm" in buttons_of(m), after=n))
        assert stack.wallet("bob") not in summary
        phone.say(alice, "cancel")
    # A card of a stranger: the bot asks for the wallet and saves it.
    n = phone.count(alice)
    phone.act(alice, type="contacts", contacts=[{"name": "Dave", "phone": "+1 555 777 0000"}])
    phone.wait_text(alice, "What's their wallet address", after=n)
    n = phone.count(alice)
    phone.say(alice, pointer(stack.wallet("dave")))
    phone.wait_text(alice, "Saved Dave: " + stack.wallet("dave"), after=n)
    n = phone.count(alice)
    phone.say(alice, "contacts")
    book = text_of(phone.wait_text(alice, "Your contacts", after=n))
    for name in ("Bobby", "Carol", "Dave"):
        assert name in book
    assert "Zoe" not in book
    # Names are matched without case or accents.
    n = phone.count(alice)
    phone.say(alice, "send 3 to CAROL")
    carol = text_of(phone.wait_for(alice, lambda m: "Confirm" in buttons_of(m), after=n))
    assert "Carol" in carol
    assert "51.00 MXN" in carol  # the fake converts 3 USD at 17
    n = phone.count(alice)
    phone.say(alice, "delete Dave")
    phone.wait_text(alice, "Deleted Dave", after=n)


def test_missing_amount_and_recipient_are_asked_for(stack: Stack, uid, payments_api) -> None:
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Ana", pointer(stack.wallet("alice")))
    n = phone.count(wa_id)
    phone.tap(wa_id, "Send money")
    phone.wait_text(wa_id, "To whom and how much", after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "send money")
    phone.wait_text(wa_id, "Who do you want to send money to", after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "Maria")
    phone.wait_text(wa_id, "I don't know Maria", after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "it's " + pointer(stack.wallet("bob")))
    phone.wait_text(wa_id, "Saved Maria", after=n)
    phone.wait_text(wa_id, "How much do you want to send to Maria", after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "7,50")
    summary = phone.wait_for(wa_id, lambda m: "Confirm" in buttons_of(m), after=n)
    assert "7.60 USD" in text_of(summary)  # debit, fee included
    assert "7.50 USD" in text_of(summary)  # receive
    assert "0.10 USD" in text_of(summary)  # fee
    n = phone.count(wa_id)
    phone.say(wa_id, "cancel")
    phone.wait_text(wa_id, "Cancelled", after=n)
    assert any(p["cancelled"] for p in payments_api.list() if p["amount"] == "7.50")
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")  # the old summary's button: refused, naming the payment
    phone.wait_text(wa_id, "That payment (7.50 USD to Maria) was cancelled", after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "cancel")
    phone.wait_text(wa_id, "nothing pending", after=n)


def test_currency_other_than_the_wallets_is_questioned(stack: Stack, uid) -> None:
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Eve", pointer(stack.wallet("alice")))
    n = phone.count(wa_id)
    phone.say(wa_id, "send 10 eur to " + pointer(stack.wallet("bob")))
    phone.wait_text(wa_id, "Your wallet is in USD", after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "10")
    phone.wait_for(wa_id, lambda m: "Confirm" in buttons_of(m), after=n)


def test_voice_note_is_understood_and_answered_with_a_voice_note(stack: Stack, uid) -> None:
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Vic", pointer(stack.wallet("alice")))
    n = phone.count(wa_id)
    spoken = base64.b64encode(b"VOICE:send 4 to " + pointer(stack.wallet("bob")).encode())
    phone.act(wa_id, type="audio", data=spoken.decode(), mimeType="audio/ogg; codecs=opus")
    summary = phone.wait_for(wa_id, lambda m: "Confirm" in buttons_of(m), after=n)
    assert "4.00 USD" in text_of(summary)
    voice = phone.wait_for(wa_id, lambda m: m["type"] == "audio", after=n)
    assert voice["body"]["audio"]["id"]
    media = phone.client.get(f"{phone.url}/api/media/{voice['body']['audio']['id']}")
    assert media.content.startswith(b"OggS")
    assert media.headers["content-type"].startswith("audio/ogg")


def test_receipt_image_goes_through_the_same_confirmation(stack: Stack, uid) -> None:
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Ivy", pointer(stack.wallet("alice")))
    n = phone.count(wa_id)
    phone.say(wa_id, "save Shop as " + pointer(stack.wallet("bob")))
    phone.wait_text(wa_id, "Saved Shop", after=n)
    n = phone.count(wa_id)
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64).decode()
    sent = phone.act(wa_id, type="image", data=png, mimeType="image/png", caption="Shop")
    summary = phone.wait_for(wa_id, lambda m: "Confirm" in buttons_of(m), after=n)
    assert "12.50 USD" in text_of(summary)
    assert "Shop" in text_of(summary)
    deadline = time.time() + 5  # progress reaction on the photo
    while time.time() < deadline:
        mine = [m for m in phone.messages(wa_id) if m["id"] == sent["id"]]
        if mine[0]["reactions"].get("bot") == "⏳":  # 👀 (received) first, then ⏳ (paying)
            break
        time.sleep(0.1)
    assert mine[0]["reactions"].get("bot") == "⏳"


def test_services_down_get_a_clear_answer(stack: Stack, uid, payments_api) -> None:
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Dan", pointer(stack.wallet("alice")))
    payments_api.down("llm")
    try:
        n = phone.count(wa_id)
        phone.say(wa_id, "send 5 to bob")
        phone.wait_text(wa_id, "can't understand messages right now", after=n)
        # Commands that need no understanding still work.
        n = phone.count(wa_id)
        phone.say(wa_id, "history")
        phone.wait_text(wa_id, "no payments yet", after=n)
    finally:
        payments_api.up("llm")
    payments_api.down("op")
    try:
        n = phone.count(wa_id)
        phone.say(wa_id, "send 5 to " + pointer(stack.wallet("bob")))
        phone.wait_text(wa_id, "can't reach the payment service", after=n)
    finally:
        payments_api.up("op")
    n = phone.count(wa_id)
    phone.say(wa_id, "send 5000 to " + pointer(stack.wallet("bob")))
    refused = text_of(phone.wait_text(wa_id, "doesn't have enough funds", after=n))
    assert "5000.00 USD to" in refused  # in plain words, naming the payment
    assert re.search(r"Reference: P-[0-9A-F]{6}$", refused)  # short, not a 32-digit id


def test_unsupported_messages_and_small_talk_get_the_menu(stack: Stack, uid) -> None:
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Sam", pointer(stack.wallet("alice")))
    n = phone.count(wa_id)
    phone.say(wa_id, "what a nice day")
    reply = phone.wait_for(wa_id, lambda m: "History" in buttons_of(m), after=n)
    assert "echo: what a nice day" in text_of(reply)
    n = phone.count(wa_id)
    phone.act(wa_id, type="location", latitude=19.4, longitude=-99.1)
    unsupported = phone.wait_text(wa_id, "I can read text, voice notes", after=n)
    assert buttons_of(unsupported) == ["Send money", "History", "Help"]
    n = phone.count(wa_id)
    last = phone.bot_messages(wa_id)[-1]
    phone.act(wa_id, type="reaction", messageId=last["id"], emoji="👍")
    time.sleep(1.0)
    assert phone.count(wa_id) == n  # a reaction needs no answer
