"""Issue 16, the gateway side, against the real services (sandbox wallet, op_api, llm_back's
offline parser) with the sandbox phone playing the users: several recipients in one message,
repeats, money requests and unusable amounts are never silently dropped or misread."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.op_api.harness import Wallet
from tests.support.processes import TEST_TOKEN
from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import (
    Message,
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
    base = tmp_path_factory.mktemp("ws_bot_issue16")
    global _spawn, _bot_db
    _bot_db = base / "ws_bot" / "data" / "ws_bot.sqlite3"
    op_env = {"PAYMENT_EXPIRY_SECONDS": "60", "WORKER_INTERVAL_SECONDS": "0.3"}
    with real_stack(base, op_env) as (stack, wallet, spawn):
        _spawn = spawn
        yield stack, wallet


_spawn: Any = None  # the module's spawner, for a second gateway with other settings
_bot_db: Any = None  # the gateway's SQLite file


def _is_summary(m: Message) -> bool:
    return "Confirm" in buttons_of(m) or "Confirmar" in buttons_of(m)


def _user(
    stack: Stack,
    wallet: Wallet,
    uid: Any,
    lang: str = "English",
    balance: str = "50.00",
    **book: str,
) -> str:
    """An onboarded user with a fresh wallet (50.00 USD by default), with contacts saved."""
    phone, wa_id = stack.phone, str(uid())
    own = wallet.add_wallet(f"u{wa_id}", balance)
    phone.onboard(wa_id, "Ana", pointer(own), lang=lang)
    for name, address in book.items():
        n = phone.count(wa_id)
        phone.say(wa_id, f"save {name} as {pointer(address)}")
        phone.wait_text(wa_id, "📇", after=n)
    return wa_id


def _approve_all(stack: Stack, wallet: Wallet, wa_id: str, after: int, count: int) -> None:
    deadline = time.monotonic() + 30
    links: list[str] = []
    while len(links) < count and time.monotonic() < deadline:
        links = [u for m in stack.phone.bot_messages(wa_id)[after:] if (u := approval_url(m))]
        time.sleep(0.1)
    assert len(links) == count, [text_of(m) for m in stack.phone.bot_messages(wa_id)[after:]]
    for link in links:
        assert wallet.answer(link, "approve").status_code == 200


def _receipts(stack: Stack, wa_id: str, after: int, count: int) -> list[str]:
    deadline = time.monotonic() + 40
    found: list[str] = []
    while time.monotonic() < deadline:
        said = [text_of(m) for m in stack.phone.bot_messages(wa_id)[after:]]
        found = [s for s in said if s.startswith("✅ Payment sent")]
        if len(found) >= count:
            return found
        time.sleep(0.2)
    raise AssertionError(f"receipts: {found}")


def _bob_and_alice(stack: Stack, wallet: Wallet, uid: Any, message: str) -> tuple[str, ...]:
    """A user with Bob and Alice (fresh wallets) saved, who wrote `message` about both: (the
    user, Bob's wallet, Alice's wallet, the summary's text)."""
    bob, carl = wallet.add_wallet(f"b{uid()}", "0"), wallet.add_wallet(f"c{uid()}", "0")
    wa_id = _user(stack, wallet, uid, Bob=bob, Alice=carl)
    n = stack.phone.count(wa_id)
    stack.phone.say(wa_id, message)
    summary = text_of(stack.phone.wait_for(wa_id, _is_summary, after=n, timeout=40))
    return wa_id, bob, carl, summary


def _paid_both(stack: Stack, wallet: Wallet, wa_id: str, after: int, cents: dict[str, int]) -> None:
    """A receipt for Bob and one for Alice, and each wallet (of `cents`) holds its amount."""
    receipts = _receipts(stack, wa_id, after, 2)
    assert any("To: Bob" in r for r in receipts), receipts
    assert any("To: Alice" in r for r in receipts), receipts
    for address, amount in cents.items():
        assert wallet.balance(address.rsplit("/", 1)[1]) == amount


def test_two_recipients_one_summary_one_confirmation_one_approval_each_paid_once(
    real: tuple[Stack, Wallet], uid
) -> None:
    stack, wallet = real
    phone = stack.phone
    wa_id, bob, carl, summary = _bob_and_alice(stack, wallet, uid, "send 20 to Bob and 10 to Alice")
    assert "Summary of 2 payments" in summary
    assert "20.00 USD to Bob" in summary
    assert "10.00 USD to Alice" in summary
    assert "Total leaving your wallet" in summary
    assert "in one approval" in summary
    assert len([m for m in phone.bot_messages(wa_id) if _is_summary(m)]) == 1
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")
    # One grant for both at the wallet, so one approval link, naming both and their total.
    link = phone.wait_for(wa_id, lambda m: approval_url(m) is not None, after=n, timeout=30)
    total = summary.split("Total leaving your wallet: ", 1)[1].split("\n", 1)[0]
    assert f"the 2 payments ({total} in total)" in text_of(link)
    _approve_all(stack, wallet, wa_id, n, 1)
    _paid_both(stack, wallet, wa_id, n, {bob: 2000, carl: 1000})
    assert len([m for m in phone.bot_messages(wa_id)[n:] if approval_url(m)]) == 1
    # Both in the history, each once.
    n = phone.count(wa_id)
    phone.say(wa_id, "history")
    history = text_of(phone.wait_text(wa_id, "→", after=n))
    assert history.count("→ Bob") == 1
    assert history.count("→ Alice") == 1


def test_a_wallet_refusing_one_grant_for_all_gets_one_approval_per_payment(
    real: tuple[Stack, Wallet], uid
) -> None:
    stack, wallet = real
    phone = stack.phone
    # Quoted once, so op_api holds both receivers' incoming-payment grants.
    wa_id, bob, carl, _ = _bob_and_alice(stack, wallet, uid, "send 2 to Bob and 1 to Alice")
    n = phone.count(wa_id)
    phone.say(wa_id, "cancel")
    phone.wait_text(wa_id, "Cancelled", after=n)
    # The wallet refuses the next grant request: the one for the total.
    fault = {"scope": "auth", "mode": "error", "status": 400, "count": 1, "method": "POST"}
    assert wallet.admin("POST", "/faults", json=fault).status_code == 201
    try:
        n = phone.count(wa_id)
        phone.say(wa_id, "send 2 to Bob and 1 to Alice")
        summary = text_of(phone.wait_for(wa_id, _is_summary, after=n, timeout=40))
    finally:
        wallet.admin("DELETE", "/faults")
    assert "You approve each payment at your wallet" in summary
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")
    _approve_all(stack, wallet, wa_id, n, 2)
    _paid_both(stack, wallet, wa_id, n, {bob: 200, carl: 100})


def test_split_in_spanish_and_an_unknown_name_pays_nobody(real: tuple[Stack, Wallet], uid) -> None:
    stack, wallet = real
    phone = stack.phone
    bob = wallet.add_wallet(f"b{uid()}", "0")
    wa_id = _user(stack, wallet, uid, "Español", Bob=bob)
    n = phone.count(wa_id)
    phone.say(wa_id, "20 a Bob y 10 a Zoe y 5 a Yan")
    phone.wait_text(wa_id, "Aún no conozco a Zoe", after=n, timeout=30)
    assert not any(_is_summary(m) for m in phone.bot_messages(wa_id)[n:])
    zoe = wallet.add_wallet(f"z{uid()}", "0")
    n = phone.count(wa_id)
    phone.say(wa_id, "sí")  # not a wallet, and no summary yet: nothing is confirmed
    phone.say(wa_id, pointer(zoe))
    phone.wait_text(wa_id, "Aún no conozco a Yan", after=n, timeout=30)
    assert not any(approval_url(m) for m in phone.bot_messages(wa_id)[n:])
    n = phone.count(wa_id)
    phone.say(wa_id, pointer(wallet.add_wallet(f"y{uid()}", "0")))
    summary = text_of(phone.wait_for(wa_id, _is_summary, after=n, timeout=30))
    assert "Resumen de 3 pagos" in summary
    for line in ("20.00 USD a Bob", "10.00 USD a Zoe", "5.00 USD a Yan"):
        assert line in summary
    n = phone.count(wa_id)
    phone.say(wa_id, "split 60 between Bob, Zoe and me")
    summary = text_of(phone.wait_for(wa_id, _is_summary, after=n, timeout=40))
    assert "20.00 USD a Bob" in summary
    assert "20.00 USD a Zoe" in summary
    assert "tu parte se queda contigo" in summary
    # Cancel names both, and a later tap on that summary is refused.
    n = phone.count(wa_id)
    phone.say(wa_id, "cancelar")
    cancelled = text_of(phone.wait_text(wa_id, "Cancelado", after=n))
    assert "Bob" in cancelled
    assert "Zoe" in cancelled
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirmar")
    phone.wait_text(wa_id, "ya no está vigente", after=n)
    assert wallet.balance(bob.rsplit("/", 1)[1]) == 0


def test_one_refused_share_pays_nobody(real: tuple[Stack, Wallet], uid) -> None:
    stack, wallet = real
    phone = stack.phone
    bob = wallet.add_wallet(f"b{uid()}", "0")
    wa_id = _user(stack, wallet, uid, Bob=bob)
    n = phone.count(wa_id)
    phone.say(wa_id, f"save Mia as {pointer(wallet.address(f'u{wa_id}'))}")  # her own wallet
    phone.wait_text(wa_id, "📇", after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "send 2 to Bob and 3 to Mia")
    told = text_of(phone.wait_text(wa_id, "couldn't prepare the payment to Mia", after=n))
    assert "None of the payments was sent" in told
    time.sleep(1.0)
    assert not any(_is_summary(m) for m in phone.bot_messages(wa_id)[n:])
    assert wallet.balance(bob.rsplit("/", 1)[1]) == 0


def test_a_typed_yes_confirms_the_newest_summary_only(real: tuple[Stack, Wallet], uid) -> None:
    stack, wallet = real
    phone = stack.phone
    bob, carl = wallet.add_wallet(f"b{uid()}", "0"), wallet.add_wallet(f"c{uid()}", "0")
    wa_id = _user(stack, wallet, uid, Bob=bob, Alice=carl)
    n = phone.count(wa_id)
    phone.say(wa_id, "send 2 to Bob and 1 to Alice")
    phone.wait_text(wa_id, "Summary of 2 payments", after=n, timeout=30)
    n = phone.count(wa_id)
    phone.say(wa_id, "request 4 from Alice")
    phone.wait_text(wa_id, "Money request", after=n, timeout=30)
    n = phone.count(wa_id)
    phone.say(wa_id, "send 3 to Bob")
    phone.wait_text(wa_id, "Receives: 3.00 USD", after=n, timeout=30)
    n = phone.count(wa_id)
    phone.say(wa_id, "yes")
    link = phone.wait_for(wa_id, lambda m: approval_url(m) is not None, after=n)
    assert "Approve the payment of 3.00 USD to Bob at your wallet" in text_of(link)
    time.sleep(1.0)
    assert len([m for m in phone.bot_messages(wa_id)[n:] if approval_url(m)]) == 1
    assert not any("📨" in text_of(m) for m in phone.bot_messages(wa_id)[n:])
    n = phone.count(wa_id)
    phone.say(wa_id, "cancel")
    phone.wait_text(wa_id, "Cancelled: 3.00 USD to Bob", after=n)
    # The older summaries stay what they were: nothing was asked of Alice, nothing paid twice.
    assert not any("📨" in text_of(m) for m in phone.bot_messages(wa_id))


def test_a_repeat_is_never_silently_ignored(real: tuple[Stack, Wallet], uid) -> None:
    stack, wallet = real
    phone = stack.phone
    bob = wallet.add_wallet(f"b{uid()}", "0")
    wa_id = _user(stack, wallet, uid, "Español", Bob=bob)
    n = phone.count(wa_id)
    phone.say(wa_id, "mándale 10 a Bob cada mes")
    # Issue 17: a repeat is a scheduled payment, its summary naming the cadence.
    summary = text_of(phone.wait_for(wa_id, _is_summary, after=n, timeout=30))
    assert "10.00 USD a Bob cada mes, el primero hoy" in summary


def test_an_unusable_amount_gets_the_explanation_then_goes_on(
    real: tuple[Stack, Wallet], uid
) -> None:
    stack, wallet = real
    phone = stack.phone
    bob = wallet.add_wallet(f"b{uid()}", "0")
    wa_id = _user(stack, wallet, uid, "Español", Bob=bob)
    n = phone.count(wa_id)
    phone.say(wa_id, "manda -5 a Bob")
    told = text_of(phone.wait_text(wa_id, "negativa", after=n))
    assert re.search(r"¿Cuánto.*Bob\?", told), told
    assert not any(_is_summary(m) for m in phone.bot_messages(wa_id)[n:])
    n = phone.count(wa_id)
    phone.say(wa_id, "5")
    summary = text_of(phone.wait_for(wa_id, _is_summary, after=n, timeout=30))
    assert "5.00 USD" in summary
    assert "Bob" in summary
    n = phone.count(wa_id)
    phone.say(wa_id, "send 10.999 to Bob")
    told = text_of(phone.wait_text(wa_id, "10.99 or 11.00", after=n))
    assert not any(_is_summary(m) for m in phone.bot_messages(wa_id)[n:])


# ---------------------------------------------------------------- money requests


def _request(stack: Stack, wa_id: str, text: str) -> Message:
    """Ask for money, check the summary promises nothing leaves the requester, confirm it."""
    phone = stack.phone
    n = phone.count(wa_id)
    phone.say(wa_id, text)
    summary = phone.wait_for(wa_id, _is_summary, after=n, timeout=30)
    assert "Money request" in text_of(summary)
    assert "you pay nothing" in text_of(summary)
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")
    return phone.wait_text(wa_id, "📨", after=n, timeout=30)


def _pair(stack: Stack, wallet: Wallet, uid: Any) -> tuple[str, str, str, str]:
    """A requester (empty wallet) with the payer (100.00 USD, on Paguito) saved as Pat."""
    phone = stack.phone
    payer = uid()
    payer_wallet = wallet.add_wallet(f"p{payer}", "100.00")
    phone.onboard(payer, "Pat", pointer(payer_wallet))
    requester = _user(stack, wallet, uid, balance="0", Pat=payer_wallet)
    return requester, payer, f"u{requester}", f"p{payer}"


def test_request_paid_end_to_end(real: tuple[Stack, Wallet], uid) -> None:
    stack, wallet = real
    phone = stack.phone
    requester, payer, r_wallet, p_wallet = _pair(stack, wallet, uid)
    r_before, p_before = wallet.balance(r_wallet), wallet.balance(p_wallet)
    n_payer = phone.count(payer)
    sent = _request(stack, requester, "request 12.34 from Pat")
    assert "I asked Pat for 12.34 USD" in text_of(sent)
    ask = phone.wait_text(payer, "Ana asks you for 12.34 USD", after=n_payer, timeout=30)
    assert buttons_of(ask) == ["Pay", "Decline"]
    # A first attempt cancelled at its summary leaves the request open.
    n = phone.count(payer)
    phone.tap(payer, "Pay")
    phone.wait_for(payer, _is_summary, after=n, timeout=30)
    n = phone.count(payer)
    phone.tap(payer, "Cancel")
    phone.wait_text(payer, "Cancelled", after=n)
    n = phone.count(payer)
    phone.tap(payer, "Pay")
    summary = text_of(phone.wait_for(payer, _is_summary, after=n, timeout=30))
    assert "Receives: 12.34 USD" in summary
    debit = re.search(r"Leaves your wallet: (\d+\.\d{2}) USD", summary)
    assert debit, summary
    n = phone.count(payer)
    phone.tap(payer, "Confirm")
    _approve_all(stack, wallet, payer, n, 1)
    n_requester = phone.count(requester)
    phone.wait_text(requester, "✅ Pat paid your request for 12.34 USD", after=0, timeout=40)
    phone.wait_text(payer, "✅ Payment sent", after=n, timeout=40)
    assert wallet.balance(r_wallet) - r_before == 1234  # exactly the request
    assert p_before - wallet.balance(p_wallet) == int(debit.group(1).replace(".", ""))
    # Told once, and both histories show it.
    time.sleep(1.5)
    paid = [m for m in phone.bot_messages(requester) if "paid your request" in text_of(m)]
    assert len(paid) == 1
    for who, arrow in ((requester, "⇠ Pat · paid"), (payer, "⇢ Ana · paid")):
        n = phone.count(who)
        phone.say(who, "history")
        phone.wait_text(who, arrow, after=n)
    del n_requester


def test_a_request_to_several_people_asks_nobody_silently(real: tuple[Stack, Wallet], uid) -> None:
    stack, wallet = real
    phone = stack.phone
    wa_id = _user(stack, wallet, uid, "Español", balance="0")
    n = phone.count(wa_id)
    phone.say(wa_id, "cóbrale 10 a Bob y 5 a Alice")
    told = text_of(phone.wait_text(wa_id, "una persona por mensaje (Bob, Alice)", after=n))
    assert "No pedí nada" in told
    time.sleep(1.0)
    assert not any(_is_summary(m) for m in phone.bot_messages(wa_id)[n:])


def test_request_declined(real: tuple[Stack, Wallet], uid) -> None:
    stack, wallet = real
    phone = stack.phone
    requester, payer, r_wallet, p_wallet = _pair(stack, wallet, uid)
    p_before = wallet.balance(p_wallet)
    n_payer = phone.count(payer)
    _request(stack, requester, "request 5 from Pat")
    phone.wait_text(payer, "asks you for 5.00 USD", after=n_payer, timeout=30)
    n = phone.count(payer)
    phone.tap(payer, "Decline")
    phone.wait_text(payer, "You declined Ana's request for 5.00 USD", after=n)
    phone.wait_text(requester, "Pat did not pay your request for 5.00 USD", timeout=30)
    # The old Pay button no longer pays.
    n = phone.count(payer)
    phone.tap(payer, "Pay")
    phone.wait_text(payer, "no longer open (declined)", after=n)
    assert wallet.balance(p_wallet) == p_before
    assert wallet.balance(r_wallet) == 0


def test_request_to_someone_not_on_paguito_is_a_link_any_wallet_can_pay(
    real: tuple[Stack, Wallet], uid
) -> None:
    import httpx

    stack, wallet = real
    requester = _user(stack, wallet, uid, balance="0")
    sent = text_of(_request(stack, requester, "request 7 from Zed"))
    assert "Zed isn't on Paguito" in sent
    link = re.search(r"(http\S+)", sent)
    assert link, sent
    outsider = wallet.add_wallet(f"o{uid()}", "50.00")
    op = httpx.Client(
        base_url=stack.op_url, headers={"Authorization": f"Bearer {TEST_TOKEN}"}, timeout=30
    )
    body = {
        "senderWalletUrl": outsider,
        "receiverWalletUrl": wallet.address(f"u{requester}"),
        "amount": "7",
        "amountType": "receive",
        "incomingPaymentUrl": link.group(1),
    }
    payment = op.post("/send-payment", json=body)
    assert payment.status_code == 201, payment.text
    assert wallet.answer(payment.json()["confirmationUrl"], "approve").status_code == 200
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        view = op.post("/confirm-payment", json={"paymentId": payment.json()["paymentId"]}).json()
        if view["status"] == "completed":
            break
        time.sleep(0.3)
    stack.phone.wait_text(requester, "✅ Zed paid your request for 7.00 USD", timeout=30)
    assert wallet.balance(f"u{requester}") == 700


def test_request_expired(real: tuple[Stack, Wallet], uid, tmp_path) -> None:
    stack, wallet = real
    # A second gateway (its own database) whose requests expire after 3 seconds.
    short = start_stack(
        _spawn,
        llm_url=stack.llm_url,
        op_url=stack.op_url,
        wallet_base=wallet.url,
        extra_env={"PAYMENT_REQUEST_TTL_SECONDS": "3", "DATA_DIR": str(tmp_path / "bot2")},
    )
    phone = short.phone
    requester, payer, r_wallet, _ = _pair(short, wallet, uid)
    n_payer = phone.count(payer)
    _request(short, requester, "request 3 from Pat")
    phone.wait_text(payer, "asks you for 3.00 USD", after=n_payer, timeout=30)
    phone.wait_text(requester, "Your request for 3.00 USD from Pat expired unpaid", timeout=30)
    phone.wait_text(payer, "request for 3.00 USD expired", timeout=30)
    n = phone.count(payer)
    phone.tap(payer, "Pay")
    phone.wait_text(payer, "no longer open (expired)", after=n)
    assert wallet.balance(r_wallet) == 0


def test_request_outside_the_window_is_the_template_then_a_reply_shows_the_buttons(
    real: tuple[Stack, Wallet], uid
) -> None:
    import sqlite3

    stack, wallet = real
    phone = stack.phone
    requester, payer, r_wallet, _ = _pair(stack, wallet, uid)
    # Pat last wrote 25 hours ago, for the gateway and for WhatsApp alike.
    with sqlite3.connect(_bot_db) as db:
        db.execute(
            "UPDATE ws_last_inbound SET at = ? WHERE wa_id = ?", (time.time() - 25 * 3600, payer)
        )
    phone.client.post(
        f"{phone.url}/api/users/{payer}/window", json={"lastInboundAgeSeconds": 25 * 3600}
    )
    n = phone.count(payer)
    _request(stack, requester, "request 2 from Pat")
    notice = phone.wait_text(payer, "Ana asks you for 2.00 USD", after=n, timeout=30)
    assert notice["type"] == "template"
    assert notice["body"]["template"]["name"] == "paguito_money_request"
    n = phone.count(payer)
    phone.say(payer, "ok")
    ask = phone.wait_for(payer, lambda m: buttons_of(m) == ["Pay", "Decline"], after=n)
    assert "Ana asks you for 2.00 USD" in text_of(ask)
    time.sleep(1.0)
    assert [text_of(m) for m in phone.bot_messages(payer)[n:]] == [text_of(ask)]
    n = phone.count(payer)
    phone.tap(payer, "Pay")
    assert "Receives: 2.00 USD" in text_of(phone.wait_for(payer, _is_summary, after=n))
    assert wallet.balance(r_wallet) == 0
