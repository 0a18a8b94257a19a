"""Issue 17 through the real services: the sandbox phone and wallet, op_api's links and one-tap
payments, llm_back's offline parser. An impostor who registers someone else's wallet hears
nothing of it and cannot pay from it; the owner links with 50 USD a week, pays 20 and 25 with
one tap each (the balances move exactly), and a third payment of 10 goes through the consent
page; "desvincular" and a grant revoked at the wallet both stop one-tap payments."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.op_api.harness import Wallet
from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import Message, Stack, approval_url, buttons_of, real_stack, text_of

pytestmark = pytest.mark.slow
WAIT = 30.0
WEEKLY_50 = "Up to 50 USD a week"


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Wallet]]:
    base = tmp_path_factory.mktemp("ws_bot_linking")
    op_env = {"PAYMENT_EXPIRY_SECONDS": "60", "WORKER_INTERVAL_SECONDS": "0.3"}
    with real_stack(base, op_env) as (stack, wallet, _):
        yield stack, wallet


def _user(
    real: tuple[Stack, Wallet], uid: Any, allowance: str | None = None, lang: str = "English"
) -> tuple[str, str]:
    """A user onboarded with a fresh wallet of 100.00 USD, linked; (wa_id, wallet name)."""
    stack, wallet = real
    wa_id = uid()
    name = f"u{wa_id}"
    own = wallet.add_wallet(name, "100.00")
    stack.phone.onboard(wa_id, "Ana", pointer(own), lang=lang, allowance=allowance)
    return wa_id, name


def _summary(stack: Stack, wa_id: str, text: str) -> Message:
    n = stack.phone.count(wa_id)
    stack.phone.say(wa_id, text)
    return stack.phone.wait_for(
        wa_id,
        lambda m: "Confirm" in buttons_of(m) or "Confirmar" in buttons_of(m),
        after=n,
        timeout=WAIT,
    )


def _debit(summary: Message) -> int:
    """What the summary says leaves the wallet, in minor units."""
    found = re.search(
        r"(?:Leaves your wallet|Sale de tu billetera): (\d+\.\d{2}) USD", text_of(summary)
    )
    assert found, text_of(summary)
    return int(Decimal(found.group(1)) * 100)


def _token_revoked(wallet: Wallet, since: int) -> bool:
    """Whether a token was revoked at the wallet (`DELETE` on its management URL) since the
    `since`-th exchange the wallet recorded."""
    return any(
        e["method"] == "DELETE" and "/token/" in e["path"] and e["status"] == 204
        for e in wallet.exchanges()[since:]
    )


def _live_grants(wallet: Wallet, name: str) -> list[dict[str, Any]]:
    grants: list[dict[str, Any]] = wallet.admin("GET", f"/grants?wallet={name}").json()["grants"]
    return grants


def test_an_impostor_hears_nothing_and_cannot_pay(real: tuple[Stack, Wallet], uid) -> None:
    stack, wallet = real
    phone = stack.phone
    owner, owned = _user(real, uid)
    payer, _ = _user(real, uid)
    impostor = uid()
    n = phone.count(impostor)
    phone.say(impostor, "hi", name="Mallory")
    phone.wait_for(impostor, lambda m: "English" in buttons_of(m), after=n)
    phone.pick(impostor, "English")
    n = phone.count(impostor)
    phone.say(impostor, pointer(wallet.address(owned)))
    phone.wait_for(impostor, lambda m: "Ask me every time" in buttons_of(m), after=n, timeout=WAIT)
    phone.pick(impostor, "Up to 100 USD a month")
    button = phone.wait_for(impostor, lambda m: approval_url(m) is not None, after=n, timeout=WAIT)
    assert "proves it's yours" in text_of(button)
    # The impostor cannot sign in at the owner's wallet: the link stays unapproved.
    before = wallet.balance(owned)
    n = phone.count(impostor)
    phone.say(impostor, "send 5 to " + pointer(wallet.address("bob")))
    phone.wait_text(impostor, "Before paying from", after=n, timeout=WAIT)
    assert not any("Confirm" in buttons_of(m) for m in phone.bot_messages(impostor)[n:])

    # Someone pays the wallet: its verified owner is told, the impostor is not.
    summary = _summary(stack, payer, "send 3 to " + pointer(wallet.address(owned)))
    n = phone.count(payer)
    phone.tap(payer, "Confirm")
    link = phone.wait_for(payer, lambda m: approval_url(m) is not None, after=n, timeout=WAIT)
    owner_n, impostor_n = phone.count(owner), phone.count(impostor)
    phone.answer(approval_url(link) or "", "approve")
    phone.wait_text(payer, "Payment sent", after=n, timeout=WAIT)
    phone.wait_text(owner, "sent you 3.00 USD", after=owner_n, timeout=WAIT)
    assert wallet.balance(owned) - before == 300
    assert _debit(summary) >= 300
    time.sleep(1.5)
    assert not any("sent you" in text_of(m) for m in phone.bot_messages(impostor)[impostor_n:])


def test_one_tap_within_50_a_week_then_the_consent_page(real: tuple[Stack, Wallet], uid) -> None:
    stack, wallet = real
    phone = stack.phone
    wa_id, mine = _user(real, uid, allowance=WEEKLY_50)
    linked = text_of(phone.bot_messages(wa_id)[-1])
    assert "Wallet linked · up to 50.00 USD a week without asking" in linked
    receiver = wallet.add_wallet(f"r{wa_id}", "0.00")
    to = pointer(receiver)
    for amount in (20, 25):
        start, got = wallet.balance(mine), wallet.balance(f"r{wa_id}")
        summary = _summary(stack, wa_id, f"send {amount} to {to}")
        assert re.search(r"You'll have \d+\.\d{2} USD left this week", text_of(summary))
        n = phone.count(wa_id)
        phone.tap(wa_id, "Confirm")
        phone.wait_text(wa_id, f"Paying {amount}.00 USD", after=n, timeout=WAIT)
        phone.wait_text(wa_id, "Payment sent", after=n, timeout=WAIT)
        assert not any(approval_url(m) for m in phone.bot_messages(wa_id)[n:])
        assert wallet.balance(f"r{wa_id}") - got == amount * 100
        assert start - wallet.balance(mine) == _debit(summary)

    # 10 more is over what is left this week: the wallet's consent page, and the reason said.
    summary = _summary(stack, wa_id, f"send 10 to {to}")
    assert "more than your allowance has left" in text_of(summary)
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")
    button = phone.wait_for(wa_id, lambda m: approval_url(m) is not None, after=n, timeout=WAIT)
    got = wallet.balance(f"r{wa_id}")
    phone.answer(approval_url(button) or "", "approve")
    phone.wait_text(wa_id, "Payment sent", after=n, timeout=WAIT)
    assert wallet.balance(f"r{wa_id}") - got == 1000


def test_desvincular_stops_one_tap_payments(real: tuple[Stack, Wallet], uid) -> None:
    stack, wallet = real
    phone = stack.phone
    wa_id, mine = _user(real, uid, allowance="Hasta 50 USD por semana", lang="Español")
    assert _live_grants(wallet, mine)
    seen = len(wallet.exchanges())
    n = phone.count(wa_id)
    phone.say(wa_id, "desvincular")
    phone.wait_text(wa_id, "Desvinculé tu billetera", after=n, timeout=WAIT)
    # Revoked at the wallet: the link's token is gone (its grant can no longer pay).
    assert _token_revoked(wallet, seen), wallet.exchanges()[seen:]
    n = phone.count(wa_id)
    phone.say(wa_id, "manda 5 a " + pointer(wallet.address("bob")))
    phone.wait_text(wa_id, "Antes de pagar desde", after=n, timeout=WAIT)
    assert not any("Confirmar" in buttons_of(m) for m in phone.bot_messages(wa_id)[n:])


def test_a_grant_revoked_at_the_wallet_stops_one_tap_payments(
    real: tuple[Stack, Wallet], uid
) -> None:
    stack, wallet = real
    phone = stack.phone
    wa_id, mine = _user(real, uid, allowance=WEEKLY_50)
    (grant,) = _live_grants(wallet, mine)
    assert wallet.admin("POST", f"/grants/{grant['id']}/revoke").status_code == 200
    to = pointer(wallet.address("bob"))
    before = wallet.balance(mine)
    asked = phone.count(wa_id)
    _summary(stack, wa_id, f"send 5 to {to}")
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")
    # op_api notices at the quote or at the one tap, whichever uses the grant first.
    phone.wait_text(wa_id, "allowance was revoked at your wallet", after=asked, timeout=WAIT)
    button = phone.wait_for(wa_id, lambda m: approval_url(m) is not None, after=n, timeout=WAIT)
    assert wallet.balance(mine) == before  # nothing moved with the revoked grant
    phone.answer(approval_url(button) or "", "approve")
    phone.wait_text(wa_id, "Payment sent", after=n, timeout=WAIT)
    # The wallet is still theirs; payments now go to the consent page, without being retold.
    summary = _summary(stack, wa_id, f"send 4 to {to}")
    assert "left this week" not in text_of(summary)
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")
    phone.wait_for(wa_id, lambda m: approval_url(m) is not None, after=n, timeout=WAIT)
    said = [text_of(m) for m in phone.bot_messages(wa_id)]
    assert sum("no more one-tap payments" in s for s in said) == 1


def test_a_new_allowance_said_in_words_replaces_the_old_once_approved(
    real: tuple[Stack, Wallet], uid
) -> None:
    """llm_back reads the limit and its period; the new link goes straight to the wallet's
    approval, and the "ask me every time" link it replaces is revoked only then."""
    stack, wallet = real
    phone = stack.phone
    wa_id, _ = _user(real, uid)
    n = phone.count(wa_id)
    phone.say(wa_id, "set my allowance to 30 a week")
    button = phone.wait_for(wa_id, lambda m: approval_url(m) is not None, after=n, timeout=WAIT)
    assert "up to 30.00 USD a week without asking" in text_of(button)
    seen = len(wallet.exchanges())
    time.sleep(1.0)
    assert not _token_revoked(wallet, seen)  # the old link holds until the new is approved
    m = phone.count(wa_id)
    phone.answer(approval_url(button) or "", "approve")
    linked = phone.wait_text(wa_id, "✅ Wallet linked", after=m, timeout=WAIT)
    assert "up to 30.00 USD a week without asking" in text_of(linked)
    assert _token_revoked(wallet, seen)
    summary = _summary(stack, wa_id, "send 10 to " + pointer(wallet.address("bob")))
    assert re.search(r"You'll have \d+\.\d{2} USD left this week", text_of(summary))
