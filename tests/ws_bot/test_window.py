"""The 24-hour window through the sandbox phone: notices outside it go out as templates, and a
free-form notice refused with 131047 falls back to its template exactly once."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from sandbox.phone import meta
from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import PHONE_ID, Stack, buttons_of, post_signed, text_of

STAFF = "15550009999"  # STAFF_NUMBERS in the test stack; staff never write to the bot


def _pay(stack: Stack, alice: str, bob: str, payments_api, *, close_alice: bool = False) -> str:
    """Alice pays Bob 20 (completed); the payment id. With `close_alice`, Alice's window
    closes (for WhatsApp) while the payment waits for approval."""
    phone = stack.phone
    n = phone.count(alice)
    phone.act(alice, type="contacts", contacts=[{"name": "Bob", "waId": bob}])
    phone.wait_text(alice, "Saved Bob", after=n)
    n = phone.count(alice)
    sent = phone.say(alice, "send 20 to bob")
    phone.wait_for(alice, lambda m: "Confirm" in buttons_of(m), after=n)
    payment = payments_api.for_key(sent["id"])
    n = phone.count(alice)
    phone.tap(alice, "Confirm")
    phone.wait_for(
        alice, lambda m: m["body"].get("interactive", {}).get("type") == "cta_url", after=n
    )
    if close_alice:
        window = {"lastInboundAgeSeconds": 25 * 3600}
        httpx.post(f"{phone.url}/api/users/{alice}/window", json=window)
    payments_api.outcome(payment["id"], "completed")
    phone.wait_text(alice, "Payment sent", after=n)
    return str(payment["id"])


def _failed(stack: Stack, wa_id: str) -> list[dict[str, Any]]:
    return [f for f in httpx.get(f"{stack.phone.url}/api/failed").json() if f["waId"] == wa_id]


def _metric(stack: Stack, name: str, **labels: str) -> float:
    text = httpx.get(f"{stack.bot.url}/metrics").text
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def test_notice_to_someone_outside_the_window_is_a_template(
    stack: Stack, uid, payments_api
) -> None:
    phone, alice, bob = stack.phone, uid(), uid()
    phone.onboard(bob, "Bob", pointer(stack.wallet("bob")))
    phone.onboard(alice, "Alice", pointer(stack.wallet("alice")))
    ref = _pay(stack, alice, bob, payments_api)
    notice = phone.wait_text(STAFF, ref)
    assert notice["type"] == "template"
    assert notice["body"]["template"]["name"] == "paguito_staff_notice"
    assert text_of(notice) == f"[Paguito] Payment completed: Alice → Bob, 20.10 USD (ref. {ref})."
    assert _failed(stack, STAFF) == []  # straight to the template: no free-form attempt
    # Bob wrote minutes ago: his notice is an ordinary message.
    assert phone.wait_text(bob, "Alice sent you 20.00 USD")["type"] == "text"


def test_131047_failure_falls_back_to_the_template_once(stack: Stack, uid, payments_api) -> None:
    phone, alice, bob = stack.phone, uid(), uid()
    phone.onboard(bob, "Bob", pointer(stack.wallet("dave")))  # a wallet of his own: he is the payee
    phone.onboard(alice, "Alice", pointer(stack.wallet("alice")))
    before = _metric(
        stack, "paguito_ws_template_fallbacks_total", template="paguito_payment_received"
    )
    # WhatsApp's view: Bob last wrote 25 hours ago (ws_bot still thinks the window is open).
    closed = httpx.post(
        f"{phone.url}/api/users/{bob}/window", json={"lastInboundAgeSeconds": 25 * 3600}
    )
    assert closed.json()["windowOpen"] is False
    _pay(stack, alice, bob, payments_api)
    notice = phone.wait_for(bob, lambda m: m["type"] == "template")
    assert notice["body"]["template"]["name"] == "paguito_payment_received"
    assert text_of(notice) == "💸 Alice sent you 20.00 USD with Paguito."
    failed = _failed(stack, bob)
    assert [f["code"] for f in failed] == [131047]
    # The same failure reported again (Meta retries webhooks) does not send it twice.
    status = meta.status_update(
        phone_id=PHONE_ID,
        display_phone="15550001234",
        wa_id=bob,
        message_id=failed[0]["id"],
        status="failed",
        errors=[meta.REENGAGEMENT_ERROR],
    )
    r = post_signed(stack, status)
    assert r.status_code == 200
    time.sleep(1.0)  # give a (wrong) second fallback the time to show
    templates = [m for m in phone.bot_messages(bob) if m["type"] == "template"]
    assert len(templates) == 1
    after = _metric(
        stack, "paguito_ws_template_fallbacks_total", template="paguito_payment_received"
    )
    assert after == before + 1
    assert "message delivery failed" in stack.bot.logs()


def test_a_final_result_after_the_window_closed_arrives_as_a_template(
    stack: Stack, uid, payments_api
) -> None:
    phone, alice, bob = stack.phone, uid(), uid()
    phone.onboard(bob, "Bob", pointer(stack.wallet("carol")))
    phone.onboard(alice, "Alice", pointer(stack.wallet("alice")))
    ref = _pay(stack, alice, bob, payments_api, close_alice=True)
    result = phone.wait_for(alice, lambda m: m["type"] == "template")
    assert result["body"]["template"]["name"] == "paguito_payment_result"
    assert text_of(result).startswith("Paguito, about your payment to Bob: ✅ Payment sent")
    assert ref in text_of(result)
