"""The full story, end to end, on the demo's own stack: real processes, real protocols,
a person's clicks in headless Chromium. Screenshots land in test-artifacts/<test name>/."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from sandbox.demo.stack import DemoStack
from sandbox.openai_api.ogg import voice_note
from tests.e2e.chat import (
    Chat,
    Shots,
    amounts_in_summary,
    answer_consent,
    balance,
    onboard,
    pointer,
)
from tests.llm_back.support import png

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ALICE, BOB = "5215550000001", "15550000002"


def test_alice_pays_bob_in_spanish(
    offline_stack: DemoStack, page: Page, artifacts_dir: Path
) -> None:
    stack, shots = offline_stack, Shots(artifacts_dir)
    wallet = stack.url("wallet")
    chat = Chat(page, stack.chat_url)

    onboard(chat, BOB, "Bob", "English", pointer(wallet, "bob"))
    onboard(chat, ALICE, "Alice", "Español", pointer(wallet, "alice"))
    shots.take(page, "alice-registered")
    alice_before, _ = balance(wallet, "alice")
    bob_before, _ = balance(wallet, "bob")

    # Bob is not in Alice's contacts yet: the bot asks for his wallet and remembers it.
    before = chat.type("mándale 20 a Bob")
    chat.wait_bot("Aún no conozco a Bob", before)
    before = chat.type(pointer(wallet, "bob"))
    summary = chat.wait_bot("Sale de tu billetera", before)
    debit, debit_asset, receive, receive_asset = amounts_in_summary(summary)
    assert (debit_asset, receive_asset) == ("USD", "USD")
    assert receive == Decimal("20.00") or debit == Decimal("20.00")
    shots.take(page, "summary")

    before = chat.tap("Confirmar")
    link = chat.approval_link(before)
    shots.take(page, "approval-link")
    consent = answer_consent(page, link, "approve", shots, "alice")
    assert "WhatsApp" in consent

    receipt = chat.wait_bot("¡Pago enviado!", before)
    assert f"{receive:.2f} USD" in receipt
    shots.take(page, "receipt")

    chat.open_user(BOB, "Bob")
    notice = chat.wait_bot("Alice sent you", 0)
    assert f"{receive:.2f} USD" in notice
    shots.take(page, "bob-told")

    alice_after, alice_text = balance(wallet, "alice")
    bob_after, bob_text = balance(wallet, "bob")
    assert alice_before - alice_after == debit
    assert bob_after - bob_before == receive
    page.goto(wallet + "/balances")
    expect(page.get_by_test_id("balance-alice")).to_contain_text(alice_text)
    expect(page.get_by_test_id("balance-bob")).to_contain_text(bob_text)
    shots.take(page, "balances")


def test_try_it_one_tap_within_an_allowance(
    offline_stack: DemoStack, page: Page, artifacts_dir: Path
) -> None:
    """The README's "Try it": Alice links her wallet with up to 50 USD a week at the consent page
    (signed in), pays Bob 20 with one tap, and 40 — more than is left — through the consent page."""
    stack, shots = offline_stack, Shots(artifacts_dir)
    wallet = stack.url("wallet")
    chat = Chat(page, stack.chat_url)
    alice, bob = "5215550000021", "15550000022"
    onboard(chat, bob, "Bob", "English", pointer(wallet, "bob"))
    onboard(
        chat, alice, "Alice", "Español", pointer(wallet, "alice"), "Hasta 50 USD por semana", shots
    )
    shots.take(page, "alice-linked")
    alice_before, _ = balance(wallet, "alice")
    bob_before, _ = balance(wallet, "bob")

    before = chat.type("guarda a Bob como " + pointer(wallet, "bob"))
    chat.wait_bot("Bob", before)
    before = chat.type("mándale 20 a Bob")
    summary = chat.wait_bot("Te quedan", before)
    first_debit, _, first_receive, _ = amounts_in_summary(summary)
    shots.take(page, "one-tap-summary")
    before = chat.tap("Confirmar")
    receipt = chat.wait_bot("¡Pago enviado!", before)
    assert f"{first_receive:.2f} USD" in receipt
    sent = range(before, chat.bot_count())
    assert not any(chat.bot.nth(i).locator("a.url-button").count() for i in sent)  # no consent

    before = chat.type("mándale 40 a Bob")
    summary = chat.wait_bot("supera lo que te queda", before)
    second_debit, _, second_receive, _ = amounts_in_summary(summary)
    before = chat.tap("Confirmar")
    answer_consent(page, chat.approval_link(before), "approve", shots, "beyond-allowance")
    chat.wait_bot("¡Pago enviado!", before)
    shots.take(page, "second-receipt")

    alice_after, _ = balance(wallet, "alice")
    bob_after, _ = balance(wallet, "bob")
    assert alice_before - alice_after == first_debit + second_debit
    assert bob_after - bob_before == first_receive + second_receive
    page.goto(wallet + "/balances")
    expect(page.get_by_text("Revoke").first).to_be_visible()
    shots.take(page, "balances-with-link")


def test_rejection_expiry_and_cancellation(
    offline_stack: DemoStack, page: Page, artifacts_dir: Path
) -> None:
    stack, shots = offline_stack, Shots(artifacts_dir)
    wallet = stack.url("wallet")
    chat = Chat(page, stack.chat_url)
    dana = "15550000011"
    onboard(chat, dana, "Dana", "English", pointer(wallet, "alice"))
    before = chat.type("save Bob as " + pointer(wallet, "bob"))
    chat.wait_bot("Bob", before)
    start, _ = balance(wallet, "alice")

    # Rejected at the wallet.
    before = chat.type("send 3 to Bob")
    chat.wait_bot("Leaves your wallet", before)
    before = chat.tap("Confirm")
    answer_consent(page, chat.approval_link(before), "reject", shots, "reject")
    chat.wait_bot("You rejected the payment to Bob", before)
    shots.take(page, "rejected")

    # Cancelled in the chat, after confirming, while it waits at the wallet.
    before = chat.type("send 4 to Bob")
    chat.wait_bot("Leaves your wallet", before)
    before = chat.tap("Confirm")
    chat.approval_link(before)
    before = chat.type("cancel")
    chat.wait_bot("Cancelled: 4.00 USD to Bob. Nothing was sent.", before)
    shots.take(page, "cancelled")

    # Never approved: expires (op_api runs with a 20 s expiry here), nothing charged.
    before = chat.type("send 5 to Bob")
    chat.wait_bot("Leaves your wallet", before)
    before = chat.tap("Confirm")
    chat.approval_link(before)
    chat.wait_bot("expired before it was approved", before, timeout=60)
    shots.take(page, "expired")

    assert balance(wallet, "alice")[0] == start  # nothing left Alice's wallet


def test_usd_to_mxn_for_carol(offline_stack: DemoStack, page: Page, artifacts_dir: Path) -> None:
    stack, shots = offline_stack, Shots(artifacts_dir)
    wallet = stack.url("wallet")
    chat = Chat(page, stack.chat_url)
    eva = "15550000021"
    onboard(chat, eva, "Eva", "English", pointer(wallet, "alice"))
    before = chat.type("save Carol as " + pointer(wallet, "carol"))
    chat.wait_bot("Carol", before)
    alice_before, _ = balance(wallet, "alice")
    carol_before, _ = balance(wallet, "carol")

    before = chat.type("send 10 to Carol")
    summary = chat.wait_bot("Leaves your wallet", before)
    debit, debit_asset, receive, receive_asset = amounts_in_summary(summary)
    assert (debit_asset, receive_asset) == ("USD", "MXN")
    assert receive > debit  # pesos per dollar
    shots.take(page, "summary-mxn")
    before = chat.tap("Confirm")
    answer_consent(page, chat.approval_link(before), "approve", shots, "carol")
    receipt = chat.wait_bot("Payment sent!", before)
    assert f"{receive:.2f} MXN" in receipt
    shots.take(page, "receipt-mxn")
    assert alice_before - balance(wallet, "alice")[0] == debit
    assert balance(wallet, "carol")[0] - carol_before == receive


def test_voice_note_and_receipt_on_the_model_path(
    model_stack: DemoStack, page: Page, artifacts_dir: Path
) -> None:
    stack, shots = model_stack, Shots(artifacts_dir)
    wallet = stack.url("wallet")
    chat = Chat(page, stack.chat_url)
    fer = "15550000031"
    onboard(chat, fer, "Fer", "English", pointer(wallet, "alice"))
    before = chat.type("save Bob as " + pointer(wallet, "bob"))
    chat.wait_bot("Bob", before)
    bob_before, _ = balance(wallet, "bob")

    # A voice note: transcribed, understood, answered with a summary and a voice note.
    before = chat.send_file(
        "#audio-file",
        {"name": "note.ogg", "mimeType": "audio/ogg", "buffer": voice_note("send 6 to Bob", "en")},
    )
    summary = chat.wait_bot("Leaves your wallet", before)
    expect(page.locator(".msg.out audio").last).to_be_visible()
    shots.take(page, "voice-summary")
    _, _, voice_receive, _ = amounts_in_summary(summary)
    before = chat.tap("Confirm")
    answer_consent(page, chat.approval_link(before), "approve", shots, "voice")
    chat.wait_bot("Payment sent!", before)

    # A photo of a receipt: the model reads the total and the payee, then the same flow.
    receipt_png = png({"receipt": "total=12.50;currency=USD;payee=Bob"})
    before = chat.send_file(
        "#image-file", {"name": "ticket.png", "mimeType": "image/png", "buffer": receipt_png}
    )
    summary = chat.wait_bot("Leaves your wallet", before)
    debit, _, receive, _ = amounts_in_summary(summary)
    assert Decimal("12.50") in (debit, receive)
    shots.take(page, "receipt-summary")
    before = chat.tap("Confirm")
    answer_consent(page, chat.approval_link(before), "approve", shots, "receipt")
    chat.wait_bot("Payment sent!", before)
    shots.take(page, "receipt-paid")

    assert balance(wallet, "bob")[0] - bob_before == voice_receive + receive
