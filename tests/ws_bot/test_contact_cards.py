"""Every contact card in a message is handled: cards without a wallet are asked one at a time,
and each answer saves the right card."""

from __future__ import annotations

from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import Stack, text_of


def test_three_cards_without_wallets_are_asked_one_by_one(stack: Stack, uid) -> None:
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Cam", pointer(stack.wallet("alice")))
    n = phone.count(wa_id)
    cards = [
        {"name": name, "phone": f"+44 7700 900 12{i}"}
        for i, name in enumerate(["Ana", "Bea", "Cy"])
    ]
    phone.act(wa_id, type="contacts", contacts=cards)
    phone.wait_text(wa_id, "Ana isn't on Paguito yet", after=n)
    for name, wallet, next_name in (
        ("Ana", "bob", "Bea"),
        ("Bea", "carol", "Cy"),
        ("Cy", "dave", None),
    ):
        n = phone.count(wa_id)
        phone.say(wa_id, pointer(stack.wallet(wallet)))
        phone.wait_text(wa_id, f"Saved {name}", after=n)
        if next_name:
            phone.wait_text(wa_id, f"{next_name} isn't on Paguito yet", after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "contacts")
    book = text_of(phone.wait_text(wa_id, "Your contacts", after=n))
    for name, wallet in (("Ana", "bob"), ("Bea", "carol"), ("Cy", "dave")):
        assert f"{name}: {stack.wallet(wallet)}" in book
    questions = [m for m in phone.bot_messages(wa_id) if "isn't on Paguito yet" in text_of(m)]
    assert len(questions) == 3  # one per card, never two at once
