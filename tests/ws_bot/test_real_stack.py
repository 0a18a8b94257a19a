"""The whole conversation against the real services: sandbox wallet, op_api and llm_back
(offline parser), with the sandbox phone playing the users. Approval happens at the wallet's
consent (through its admin endpoint, as a user's tap would)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from tests.op_api.harness import Wallet
from tests.support.processes import console_script, make_spawner
from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import (
    Stack,
    approval_url,
    buttons_of,
    real_stack,
    start_stack,
    text_of,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Wallet]]:
    base = tmp_path_factory.mktemp("ws_bot_real")
    op_env = {"PAYMENT_EXPIRY_SECONDS": "5", "WORKER_INTERVAL_SECONDS": "0.3"}
    with real_stack(base, op_env) as (stack, wallet, _):
        yield stack, wallet


def _pay(stack: Stack, wa_id: str, text: str) -> str:
    """Ask to pay, check the summary, confirm; the approval URL the bot sent."""
    phone = stack.phone
    n = phone.count(wa_id)
    phone.say(wa_id, text)
    summary = phone.wait_for(wa_id, lambda m: "Confirm" in buttons_of(m), after=n, timeout=30)
    assert "Leaves your wallet" in text_of(summary)
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")
    link = phone.wait_for(wa_id, lambda m: approval_url(m) is not None, after=n)
    url = approval_url(link)
    assert url is not None
    return url


def test_real_payment_to_each_final_status(real: tuple[Stack, Wallet], uid) -> None:
    stack, wallet = real
    phone, alice, bob = stack.phone, uid(), uid()
    phone.onboard(bob, "Bob", pointer(wallet.address("bob")))
    phone.onboard(alice, "Alice", pointer(wallet.address("alice")))
    n = phone.count(alice)
    phone.say(alice, "save Bob as " + pointer(wallet.address("bob")))
    phone.wait_text(alice, "Saved Bob", after=n)
    before = wallet.balance("bob")

    # completed: approved at the wallet, settled, receipt + recipient notice
    url = _pay(stack, alice, "send 5 to Bob")
    n = phone.count(alice)
    assert wallet.answer(url, "approve").status_code == 200
    receipt = text_of(phone.wait_text(alice, "Payment sent", after=n, timeout=30))
    received = re.search(r"Received: (\d+\.\d{2}) USD", receipt)
    assert received, receipt
    assert received.group(1) == "5.00"  # Bob receives the amount named; the fee is on top
    assert re.search(r"Reference: P-[0-9A-F]{6}$", receipt)
    phone.wait_text(bob, f"Alice sent you {received.group(1)} USD")
    assert wallet.balance("bob") - before == int(received.group(1).replace(".", ""))
    gained = wallet.balance("bob") - before

    # rejected at the wallet
    url = _pay(stack, alice, "send 2 to Bob")
    n = phone.count(alice)
    assert wallet.answer(url, "reject").status_code == 200
    phone.wait_text(alice, "You rejected the payment", after=n, timeout=30)

    # expired: nobody approves within op_api's PAYMENT_EXPIRY_SECONDS
    _pay(stack, alice, "send 1 to Bob")
    n = phone.count(alice)
    phone.wait_text(alice, "expired before it was approved", after=n, timeout=30)
    assert wallet.balance("bob") - before == gained

    # cross-currency quote: USD → MXN shows what Carol receives
    n = phone.count(alice)
    phone.say(alice, "send 3 to " + pointer(wallet.address("carol")))
    summary = phone.wait_for(alice, lambda m: "Confirm" in buttons_of(m), after=n, timeout=30)
    assert "MXN" in text_of(summary)
    n = phone.count(alice)
    phone.tap(alice, "Cancel")
    phone.wait_text(alice, "Cancelled", after=n)


def test_real_cancel_after_confirming(real: tuple[Stack, Wallet], uid) -> None:
    """ "cancel" while the payment waits for approval cancels the grant; no later news."""
    stack, wallet = real
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Cy", pointer(wallet.address("alice")))
    url = _pay(stack, wa_id, "send 2 to " + pointer(wallet.address("bob")))
    n = phone.count(wa_id)
    phone.say(wa_id, "cancel")
    phone.wait_text(wa_id, "Cancelled", after=n)
    assert wallet.answer(url, "approve").status_code == 409  # the grant is gone
    time.sleep(2.0)
    said = [text_of(m) for m in phone.bot_messages(wa_id)[n:]]
    assert len(said) == 1, said
    assert said[0].startswith("Cancelled: 2.00 USD to Bob"), said
    assert said[0].endswith("Nothing was sent.")


def test_real_failed_payment(real: tuple[Stack, Wallet], uid) -> None:
    """More than the wallet holds: refused up front with the reason, or approved and then
    reported failed — either way the user hears why, and nothing leaves the wallet."""
    stack, wallet = real
    phone, wa_id = stack.phone, uid()
    poor = wallet.add_wallet(f"poor{wa_id}", "1.00")
    phone.onboard(wa_id, "Poor", pointer(poor))
    n = phone.count(wa_id)
    phone.say(wa_id, "send 20 to " + pointer(wallet.address("bob")))
    answer = phone.wait_for(
        wa_id,
        lambda m: "couldn't prepare" in text_of(m) or "Confirm" in buttons_of(m),
        after=n,
        timeout=30,
    )
    if "Confirm" in buttons_of(answer):
        n = phone.count(wa_id)
        phone.tap(wa_id, "Confirm")
        link = phone.wait_for(wa_id, lambda m: approval_url(m) is not None, after=n)
        wallet.answer(approval_url(link) or "", "approve")
        failed = phone.wait_text(wa_id, "failed", after=n, timeout=30)
        assert "enough funds" in text_of(failed)
    else:
        assert "enough funds" in text_of(answer)
    assert wallet.balance(f"poor{wa_id}") == 100


def test_real_voice_note_and_receipt_through_llm_back_and_fake_openai(
    real: tuple[Stack, Wallet], tmp_path_factory: pytest.TempPathFactory, uid
) -> None:
    """A voice note goes through llm_back's OpenAI path (the fake OpenAI transcribes it); the
    bot shows the real quote and answers with a voice note of its own."""
    import base64

    from sandbox.openai_api.ogg import voice_note

    stack, wallet = real
    spawn, started = make_spawner(tmp_path_factory.mktemp("ws_bot_voice"))
    try:
        openai = spawn("openai", [console_script("paguito-sandbox"), "openai", "--port", "{port}"])
        llm = spawn(
            "llm_back_openai",
            [console_script("llm-back")],
            {"OPENAI_API_KEY": "sk-test-0123456789", "OPENAI_BASE_URL": f"{openai.url}/v1"},
        )
        voiced = start_stack(spawn, llm_url=llm.url, op_url=stack.op_url, wallet_base=wallet.url)
        phone, wa_id = voiced.phone, uid()
        phone.onboard(wa_id, "Vera", pointer(wallet.address("alice")))
        n = phone.count(wa_id)
        phone.say(wa_id, "save Bob as " + pointer(wallet.address("bob")))
        phone.wait_text(wa_id, "Saved Bob", after=n)
        n = phone.count(wa_id)
        note = base64.b64encode(voice_note("send 2 dollars to Bob", "en")).decode()
        phone.act(wa_id, type="audio", data=note, mimeType="audio/ogg; codecs=opus")
        summary = phone.wait_for(wa_id, lambda m: "Confirm" in buttons_of(m), after=n, timeout=30)
        assert "2.00 USD" in text_of(summary)
        reply = phone.wait_for(wa_id, lambda m: m["type"] == "audio", after=n, timeout=30)
        media = phone.client.get(f"{phone.url}/api/media/{reply['body']['audio']['id']}")
        assert media.content.startswith(b"OggS")
        # A photo of a receipt: the vision path reads total and payee; same confirmation.
        n = phone.count(wa_id)
        photo = base64.b64encode(_receipt_png("total=7.25;currency=USD;payee=Bob")).decode()
        phone.act(wa_id, type="image", data=photo, mimeType="image/png")
        summary = phone.wait_for(wa_id, lambda m: "Confirm" in buttons_of(m), after=n, timeout=30)
        assert "7.25 USD" in text_of(summary)
        assert "Bob" in text_of(summary)
    finally:
        for proc in reversed(started):
            proc.stop()


def _receipt_png(tags: str) -> bytes:
    """A 1×1 PNG carrying `tags` in a tEXt chunk (what the fake OpenAI's vision reads)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    idat = zlib.compress(b"\x00\x00\x00\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"tEXt", b"receipt\x00" + tags.encode())
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def test_a_tap_on_an_expired_summary_is_refused(real: tuple[Stack, Wallet], uid) -> None:
    """op_api runs with a 5 s expiry here: the summary's Confirm is refused once it lapsed."""
    stack, wallet = real
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Exp", pointer(wallet.address("alice")))
    n = phone.count(wa_id)
    phone.say(wa_id, "send 2 to " + pointer(wallet.address("bob")))
    phone.wait_for(wa_id, lambda m: "Confirm" in buttons_of(m), after=n, timeout=30)
    time.sleep(6.0)
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")
    refused = text_of(phone.wait_text(wa_id, "expired", after=n))
    assert "That summary (2.00 USD to Bob" in refused
    time.sleep(1.0)
    assert not any(approval_url(m) for m in phone.bot_messages(wa_id)[n:])


def test_the_welcome_is_in_the_language_of_the_first_message(real, uid) -> None:
    """Issue 16: a "+1" number writing "hi" gets English; "hola" gets Spanish (llm_back reads
    the first message). The language list still follows, to change it."""
    stack, _ = real
    for text, welcome in (("hi", "Hi! 👋 I'm Paguito"), ("hola, buenas", "¡Hola! 👋 Soy Paguito")):
        wa_id = uid()
        assert wa_id.startswith("1")  # a US number
        n = stack.phone.count(wa_id)
        stack.phone.say(wa_id, text, name="")
        first = stack.phone.wait_for(wa_id, lambda m: "English" in buttons_of(m), after=n)
        assert text_of(first).startswith(welcome), text_of(first)
