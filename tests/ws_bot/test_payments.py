"""The payment conversation to every final status, exactly-once confirmation, durable polling."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from sandbox.phone import meta
from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import (
    APP_SECRET,
    PHONE_ID,
    Phone,
    Stack,
    approval_url,
    buttons_of,
    start_stack,
    text_of,
)


def _to_summary(stack: Stack, wa_id: str, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Send `text`; return (the user's message, the bot's summary with Confirm/Cancel)."""
    n = stack.phone.count(wa_id)
    sent = stack.phone.say(wa_id, text)
    summary = stack.phone.wait_for(wa_id, lambda m: "Confirm" in buttons_of(m), after=n)
    return sent, summary


def _confirm(stack: Stack, wa_id: str) -> str:
    n = stack.phone.count(wa_id)
    stack.phone.tap(wa_id, "Confirm")
    link = stack.phone.wait_for(wa_id, lambda m: approval_url(m) is not None, after=n)
    url = approval_url(link)
    assert url is not None
    return url


def _reaction(phone: Phone, wa_id: str, message_id: str, emoji: str, timeout: float = 10) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        mine = [m for m in phone.messages(wa_id) if m["id"] == message_id]
        if mine and mine[0]["reactions"].get("bot") == emoji:
            return
        time.sleep(0.1)
    raise AssertionError(f"no {emoji} reaction on {message_id}")


def test_completed_payment_receipt_recipient_staff_and_history(
    stack: Stack, uid, payments_api
) -> None:
    phone, alice, bob = stack.phone, uid(), uid()
    phone.onboard(bob, "Bob", pointer(stack.wallet("bob")))
    phone.onboard(alice, "Alice", pointer(stack.wallet("alice")))
    n = phone.count(alice)
    phone.act(alice, type="contacts", contacts=[{"name": "Bob", "waId": bob}])
    phone.wait_text(alice, "Saved Bob", after=n)
    sent, summary = _to_summary(stack, alice, "send 20 to bob")
    assert "20.10 USD" in text_of(summary)
    payment = payments_api.for_key(sent["id"])  # idempotency key = the WhatsApp message id
    assert payment["sender_wallet_url"] == stack.wallet("alice")
    assert payment["receiver_wallet_url"] == stack.wallet("bob")
    assert _confirm(stack, alice).endswith(payment["id"])
    _reaction(phone, alice, sent["id"], "⏳")
    n = phone.count(alice)
    payments_api.outcome(payment["id"], "completed")
    receipt = phone.wait_text(alice, "Payment sent", after=n)
    assert "20.00 USD" in text_of(receipt)
    assert f"Reference: P-{payment['id'][:6].upper()}" in text_of(receipt)  # short, readable
    _reaction(phone, alice, sent["id"], "✅")
    phone.wait_text(bob, "Alice sent you 20.00 USD")
    phone.wait_text("15550009999", payment["id"])  # staff notice
    n = phone.count(alice)
    phone.tap(alice, "History")
    history = text_of(phone.wait_text(alice, "recent payments", after=n))
    assert "Bob" in history
    assert "sent" in history


@pytest.mark.parametrize(
    ("outcome", "needle", "emoji"),
    [
        ("rejected", "You rejected the payment to Bob", "❌"),
        ("expired", "(2.00 USD) expired before it was approved", "⌛"),
        ("failed", "failed (the payment network couldn't deliver it)", "⚠️"),
        # Cancelled at op_api (say by a "cancel" racing the poller): a cancellation, not a failure.
        ("cancelled", "Cancelled: 2.00 USD to", "✖️"),
    ],
)
def test_unhappy_final_statuses(stack: Stack, uid, payments_api, outcome, needle, emoji) -> None:
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Uma", pointer(stack.wallet("alice")))
    sent, _ = _to_summary(stack, wa_id, "send 2 to " + pointer(stack.wallet("bob")))
    _confirm(stack, wa_id)
    n = phone.count(wa_id)
    payments_api.outcome(payments_api.for_key(sent["id"])["id"], outcome)
    phone.wait_text(wa_id, needle, after=n)
    _reaction(phone, wa_id, sent["id"], emoji)
    time.sleep(1.0)
    assert len([m for m in phone.bot_messages(wa_id)[n:] if needle in text_of(m)]) == 1


def test_op_api_down_while_polling_is_ridden_out(stack: Stack, uid, payments_api) -> None:
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Ola", pointer(stack.wallet("alice")))
    sent, _ = _to_summary(stack, wa_id, "send 8 to " + pointer(stack.wallet("bob")))
    _confirm(stack, wa_id)
    n = phone.count(wa_id)
    payments_api.down("op")
    try:
        time.sleep(2.0)  # several polls fail meanwhile
        assert phone.count(wa_id) == n  # no false news while op_api is away
    finally:
        payments_api.up("op")
    payments_api.outcome(payments_api.for_key(sent["id"])["id"], "completed")
    phone.wait_text(wa_id, "Payment sent", after=n)


def test_fifty_concurrent_confirm_taps_create_one_payment(stack: Stack, uid, payments_api) -> None:
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Tap", pointer(stack.wallet("alice")))
    sent, summary = _to_summary(stack, wa_id, "send 9 to " + pointer(stack.wallet("bob")))
    n = phone.count(wa_id)

    def tap(_: int) -> int:
        r = httpx.post(
            f"{phone.url}/api/users/{wa_id}/messages",
            json={"type": "button", "title": "Confirm", "context": summary["id"]},
            timeout=30,
        )
        return r.status_code

    with ThreadPoolExecutor(max_workers=25) as pool:
        assert set(pool.map(tap, range(50))) == {200}
    phone.wait_for(wa_id, lambda m: approval_url(m) is not None, after=n)
    time.sleep(2.0)
    later = phone.bot_messages(wa_id)[n:]
    assert len([m for m in later if approval_url(m)]) == 1
    assert len([p for p in payments_api.list() if p["idempotency_key"] == sent["id"]]) == 1
    # The taps beyond the rate limit are dropped; the others are told it is already done.
    assert all(
        "already confirmed" in text_of(m) or approval_url(m) or "too fast" in text_of(m)
        for m in later
    )


@pytest.fixture
def own_stack(spawn) -> Stack:
    """A stack of its own, with a short polling deadline, for restart tests."""
    return start_stack(spawn, extra_env={"POLL_DEADLINE_SECONDS": "6"})


def test_restart_with_pending_payment_resumes_polling(own_stack: Stack, uid) -> None:
    stack, phone, wa_id = own_stack, own_stack.phone, uid()
    assert stack.backends is not None
    api = stack.backends.url
    phone.onboard(wa_id, "Rex", pointer(stack.wallet("alice")))
    sent, _ = _to_summary(stack, wa_id, "send 6 to " + pointer(stack.wallet("bob")))
    _confirm(stack, wa_id)
    stack.bot.kill()  # SIGKILL: no chance to clean up
    pid = next(
        p["id"]
        for p in httpx.get(api + "/_test/payments").json()
        if p["idempotency_key"] == sent["id"]
    )
    httpx.post(api + f"/_test/payments/{pid}/outcome", json={"status": "completed"})
    n = phone.count(wa_id)
    stack.bot.start()
    phone.wait_text(wa_id, "Payment sent", after=n)
    # Meta retrying the original message after the restart: already seen, not answered again.
    update = meta.message_update(
        phone_id=PHONE_ID,
        display_phone="15550001234",
        wa_id=wa_id,
        name="Rex",
        messages=[meta.message(wa_id, sent["id"], "text", {"body": "send 6 to x"})],
    )
    body = json.dumps(update).encode()
    headers = {"X-Hub-Signature-256": meta.sign(body, APP_SECRET)}
    n = phone.count(wa_id)
    assert httpx.post(f"{stack.bot.url}/webhook", content=body, headers=headers).status_code == 200
    time.sleep(1.0)
    assert phone.count(wa_id) == n
    # A payment nobody approves: at the deadline the grant is cancelled and the user told.
    sent, _ = _to_summary(stack, wa_id, "send 1 to " + pointer(stack.wallet("bob")))
    n = phone.count(wa_id)
    _confirm(stack, wa_id)
    phone.wait_text(wa_id, "expired before it was approved", after=n, timeout=20)
    cancelled = [
        p for p in httpx.get(api + "/_test/payments").json() if p["idempotency_key"] == sent["id"]
    ]
    assert cancelled[0]["cancelled"] is True


def test_the_whole_payment_speaks_the_users_language(stack: Stack, uid, payments_api) -> None:
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Lola", pointer(stack.wallet("alice")), lang="Español")
    n = phone.count(wa_id)
    sent = phone.say(wa_id, "envía 3 a " + pointer(stack.wallet("bob")))
    summary = phone.wait_for(wa_id, lambda m: "Confirmar" in buttons_of(m), after=n)
    assert "Sale de tu billetera: 3.10 USD" in text_of(summary)
    assert "Bob" in text_of(summary)  # the wallet's public name, not only its address
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirmar")
    link = phone.wait_for(wa_id, lambda m: approval_url(m) is not None, after=n)
    assert buttons_of(link) == ["Aprobar pago"]
    n = phone.count(wa_id)
    payments_api.outcome(payments_api.for_key(sent["id"])["id"], "completed")
    phone.wait_text(wa_id, "¡Pago enviado!", after=n)
    n = phone.count(wa_id)
    phone.tap(wa_id, "Historial")
    assert "enviado" in text_of(phone.wait_text(wa_id, "Tus últimos pagos", after=n))


def test_an_approved_payment_is_followed_past_the_deadline(own_stack: Stack, uid) -> None:
    """Money that may be moving is never called expired: polling goes on, then the receipt."""
    stack, phone, wa_id = own_stack, own_stack.phone, uid()
    assert stack.backends is not None
    api = stack.backends.url
    phone.onboard(wa_id, "Abe", pointer(stack.wallet("alice")))
    sent, _ = _to_summary(stack, wa_id, "send 4 to " + pointer(stack.wallet("bob")))
    n = phone.count(wa_id)
    _confirm(stack, wa_id)
    pid = next(
        p["id"]
        for p in httpx.get(api + "/_test/payments").json()
        if p["idempotency_key"] == sent["id"]
    )
    httpx.post(api + f"/_test/payments/{pid}/outcome", json={"status": "sending"})
    time.sleep(8)  # past POLL_DEADLINE_SECONDS=6
    assert not [m for m in phone.bot_messages(wa_id)[n:] if "expired" in text_of(m)]
    httpx.post(api + f"/_test/payments/{pid}/outcome", json={"status": "completed"})
    phone.wait_text(wa_id, "Payment sent", after=n)
