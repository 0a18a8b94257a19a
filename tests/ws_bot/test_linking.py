"""Issue 17 in the gateway, on the contract-speaking fakes: a wallet is linked (approved at the
wallet) before it pays or hears it was paid; one wallet, one number; one-tap payments within the
allowance, and the wallet's approval (with the reason) beyond it; unlinking, a new allowance,
and an allowance revoked at the wallet. `test_linking_real.py` runs the same story on the real
op_api and sandbox wallet."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import Message, Stack, approval_url, buttons_of, text_of

WEEKLY_50 = "Up to 50 USD a week"


@pytest.fixture
def links_api(stack: Stack) -> Any:
    assert stack.backends is not None
    base = stack.backends.url

    class _Api:
        def of_wallet(self, wallet: str) -> list[dict[str, Any]]:
            every = httpx.get(base + "/_test/links").json()
            return [k for k in every if k["walletUrl"] == wallet]

        def revoke_at_wallet(self, link_id: str) -> None:
            httpx.post(base + f"/_test/links/{link_id}/revoke-at-wallet").raise_for_status()

    return _Api()


def _summary(stack: Stack, wa_id: str, text: str) -> tuple[Message, Message]:
    n = stack.phone.count(wa_id)
    sent = stack.phone.say(wa_id, text)
    summary = stack.phone.wait_for(wa_id, lambda m: "Confirm" in buttons_of(m), after=n)
    return sent, summary


def _active(links_api: Any, wallet: str) -> list[dict[str, Any]]:
    return [k for k in links_api.of_wallet(wallet) if k["status"] == "active"]


def test_an_impostor_gets_no_notice_and_cannot_pay_until_the_wallet_approves(
    stack: Stack, uid, payments_api, links_api
) -> None:
    phone, owner, impostor, payer = stack.phone, uid(), uid(), uid()
    dave = stack.wallet("dave")
    phone.onboard(owner, "Dora", pointer(dave))
    phone.onboard(payer, "Pablo", pointer(stack.wallet("bob")))
    # The impostor registers the same wallet but cannot approve the link at it.
    n = phone.count(impostor)
    phone.say(impostor, "hi", name="Mallory")
    phone.wait_for(impostor, lambda m: "English" in buttons_of(m), after=n)
    phone.pick(impostor, "English")
    n = phone.count(impostor)
    phone.say(impostor, pointer(dave))
    phone.wait_for(impostor, lambda m: "Ask me every time" in buttons_of(m), after=n)
    phone.pick(impostor, "Ask me every time")
    button = phone.wait_for(impostor, lambda m: approval_url(m) is not None, after=n)
    assert "proves it's yours" in text_of(button)
    n = phone.count(impostor)
    phone.answer(approval_url(button) or "", "reject")
    refused = phone.wait_text(impostor, "was not linked (you declined it)", after=n)
    assert "Ask me every time" in buttons_of(refused)  # they can try again

    # Paying from it: refused before anything reaches op_api, with the link offered again.
    before = len(payments_api.list())
    n = phone.count(impostor)
    phone.say(impostor, "send 5 to " + pointer(stack.wallet("bob")))
    offer = phone.wait_text(impostor, "Before paying from", after=n)
    assert "Up to 20 USD a week" in buttons_of(offer)
    assert len(payments_api.list()) == before

    # A payment to the wallet: only its verified owner hears of it.
    _summary(stack, payer, "send 7 to " + pointer(dave))
    n = phone.count(payer)
    phone.tap(payer, "Confirm")
    phone.wait_for(payer, lambda m: approval_url(m) is not None, after=n)
    pid = payments_api.list()[-1]["id"]
    owner_n, impostor_n = phone.count(owner), phone.count(impostor)
    payments_api.outcome(pid, "completed")
    phone.wait_text(owner, "Pablo sent you 7.00 USD", after=owner_n)
    time.sleep(1.0)
    assert not any("sent you" in text_of(m) for m in phone.bot_messages(impostor)[impostor_n:])


def test_one_wallet_one_number_the_previous_one_is_told(stack: Stack, uid, links_api) -> None:
    phone, first, second = stack.phone, uid(), uid()
    carol = stack.wallet("carol")
    phone.onboard(first, "Ana", pointer(carol), lang="Español")
    (link,) = _active(links_api, carol)
    n = phone.count(first)
    phone.onboard(second, "Ana Nueva", pointer(carol))  # approved at the wallet: the owner
    told = phone.wait_text(first, "se vinculó desde otro número", after=n)
    assert carol in text_of(told)
    assert [k["linkId"] for k in _active(links_api, carol)] != [link["linkId"]]
    assert (
        next(k for k in links_api.of_wallet(carol) if k["linkId"] == link["linkId"])["status"]
        == "revoked"
    )
    n = phone.count(first)
    phone.say(first, "manda 5 a " + pointer(stack.wallet("bob")))
    phone.wait_text(first, "Antes de pagar desde", after=n)  # no longer theirs to pay from


def test_one_tap_payments_within_the_allowance_then_the_wallet_approves(
    stack: Stack, uid, payments_api, links_api
) -> None:
    phone, wa_id = stack.phone, uid()
    to = pointer(stack.wallet("bob"))
    phone.onboard(wa_id, "Olga", pointer(stack.wallet("alice")), allowance=WEEKLY_50)
    linked = phone.bot_messages(wa_id)[-1]
    assert "Wallet linked · up to 50.00 USD a week without asking" in text_of(linked)

    sent, summary = _summary(stack, wa_id, "send 20 to " + to)
    assert "You'll have 29.90 USD left this week" in text_of(summary)
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")
    phone.wait_text(wa_id, "Paying 20.00 USD to", after=n)
    phone.wait_text(wa_id, "Payment sent", after=n)
    assert not any(approval_url(m) for m in phone.bot_messages(wa_id)[n:])
    assert payments_api.for_key(sent["id"])["authorized"] == 1

    # Two taps at once (and a typed "yes"): one authorization.
    sent, summary = _summary(stack, wa_id, "send 25 to " + to)
    assert "You'll have 4.80 USD left this week" in text_of(summary)
    n = phone.count(wa_id)
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda act: act(), [
            lambda: phone.tap(wa_id, "Confirm"),
            lambda: phone.tap(wa_id, "Confirm"),
            lambda: phone.say(wa_id, "yes"),
        ]))  # fmt: skip
    phone.wait_text(wa_id, "Payment sent", after=n)
    time.sleep(1.0)
    assert payments_api.for_key(sent["id"])["authorized"] == 1
    assert sum("Paying 25.00 USD" in text_of(m) for m in phone.bot_messages(wa_id)[n:]) == 1

    # Past the allowance: the wallet approves this one, and the user is told why.
    sent, summary = _summary(stack, wa_id, "send 10 to " + to)
    assert "more than your allowance has left (4.80 USD)" in text_of(summary)
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")
    button = phone.wait_for(wa_id, lambda m: approval_url(m) is not None, after=n)
    assert "more than your allowance has left" in text_of(button)
    assert payments_api.for_key(sent["id"])["authorized"] == 0


def test_unlink_and_a_new_allowance(stack: Stack, uid, payments_api, links_api) -> None:
    phone, wa_id = stack.phone, uid()
    bob = stack.wallet("bob")
    phone.onboard(wa_id, "Beto", pointer(bob), allowance="Up to 20 USD a week")
    (old,) = _active(links_api, bob)

    # A new allowance replaces the old one only once approved at the wallet.
    n = phone.count(wa_id)
    phone.say(wa_id, "change my allowance")
    phone.wait_text(wa_id, "Choose your new allowance", after=n)
    assert [k["linkId"] for k in _active(links_api, bob)] == [old["linkId"]]
    linked = phone.link(wa_id, "Up to 100 USD a month", after=n)
    assert "up to 100.00 USD a month without asking" in text_of(linked)
    (new,) = _active(links_api, bob)
    assert new["linkId"] != old["linkId"]
    _, summary = _summary(stack, wa_id, "send 30 to " + pointer(stack.wallet("alice")))
    assert "You'll have 69.90 USD left this month" in text_of(summary)
    phone.tap(wa_id, "Cancel")

    # "unlink": revoked at the wallet, and paying needs a new link.
    n = phone.count(wa_id)
    phone.say(wa_id, "unlink")
    phone.wait_text(wa_id, "I unlinked your wallet", after=n)
    assert _active(links_api, bob) == []
    before = len(payments_api.list())
    n = phone.count(wa_id)
    phone.say(wa_id, "send 5 to " + pointer(stack.wallet("alice")))
    phone.wait_text(wa_id, "Before paying from", after=n)
    assert len(payments_api.list()) == before


def test_an_allowance_revoked_at_the_wallet_stops_one_tap_payments(
    stack: Stack, uid, payments_api, links_api
) -> None:
    phone, wa_id = stack.phone, uid()
    dave = stack.wallet("dave")
    phone.onboard(wa_id, "Rita", pointer(dave), allowance=WEEKLY_50)
    (link,) = _active(links_api, dave)
    _, summary = _summary(
        stack, wa_id, "send 5 to " + pointer(stack.wallet("bob"))
    )  # quoted while the grant was good
    assert "left this week" in text_of(summary)
    links_api.revoke_at_wallet(link["linkId"])
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")
    phone.wait_text(wa_id, "Your allowance was revoked at your wallet: no more", after=n)
    button = phone.wait_for(wa_id, lambda m: approval_url(m) is not None, after=n)
    assert "revoked at your wallet" in text_of(button)
    # Still the verified owner: the next payment goes to the wallet's approval, told once.
    sent, summary = _summary(stack, wa_id, "send 6 to " + pointer(stack.wallet("bob")))
    assert "approve this one there" not in text_of(summary)  # no link asked for any more
    assert payments_api.for_key(sent["id"])["link_id"] is None
    said = [text_of(m) for m in phone.bot_messages(wa_id)]
    assert sum("no more one-tap" in s for s in said) == 1


def test_a_new_wallet_is_unverified_until_linked_then_the_old_link_goes(
    stack: Stack, uid, payments_api, links_api
) -> None:
    phone, wa_id = stack.phone, uid()
    first, second = stack.wallet(f"u{wa_id}"), stack.wallet(f"u{wa_id}0")
    phone.onboard(wa_id, "Vale", pointer(first), allowance="Up to 20 USD a week")
    n = phone.count(wa_id)
    phone.say(wa_id, "my wallet is " + pointer(second))
    phone.wait_text(wa_id, "Wallet registered: " + second, after=n)
    # Not linked yet: no payment leaves the new wallet, and the old one pays no more either.
    before = len(payments_api.list())
    m = phone.count(wa_id)
    phone.say(wa_id, "send 5 to " + pointer(stack.wallet("bob")))
    phone.wait_text(wa_id, "Before paying from " + second, after=m)
    assert len(payments_api.list()) == before
    assert len(_active(links_api, first)) == 1
    phone.link(wa_id, "Ask me every time", after=m)
    assert _active(links_api, first) == []  # the old wallet's grant is revoked
    assert len(_active(links_api, second)) == 1
    n = phone.count(wa_id)
    phone.say(wa_id, "my allowance")
    mine = phone.wait_text(wa_id, "is linked: I'll ask you to approve each payment", after=n)
    assert "Up to 50 USD a week" in buttons_of(mine)


def test_a_one_tap_payment_sent_back_to_the_wallet_gets_its_approve_button(
    stack: Stack, uid, payments_api, links_api
) -> None:
    """op_api may send a one-tap payment back to its own approval after the Confirm (the wallet
    refused the link's grant when paying): the user gets the approve button with the reason."""
    assert stack.backends is not None
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Sol", pointer(stack.wallet(f"u{wa_id}")), allowance=WEEKLY_50)
    httpx.post(stack.backends.url + "/_test/hold-one-tap/on").raise_for_status()
    try:
        sent, _ = _summary(stack, wa_id, "send 8 to " + pointer(stack.wallet("bob")))
        n = phone.count(wa_id)
        phone.tap(wa_id, "Confirm")
        phone.wait_text(wa_id, "Paying 8.00 USD", after=n)
        payment = payments_api.for_key(sent["id"])
        time.sleep(1.0)  # followed as approved meanwhile
        payments_api.outcome(payment["id"], "link_revoked")
        told = phone.wait_text(wa_id, "no more one-tap payments", after=n)
        button = phone.wait_for(wa_id, lambda m: approval_url(m) is not None, after=n)
        assert phone.bot_messages(wa_id).index(told) < phone.bot_messages(wa_id).index(button)
        assert "revoked at your wallet: approve this one there" in text_of(button)
        assert "8.00 USD" in text_of(button)
        n = phone.count(wa_id)
        payments_api.outcome(payment["id"], "completed")
        phone.wait_text(wa_id, "Payment sent", after=n)
    finally:
        httpx.post(stack.backends.url + "/_test/hold-one-tap/off").raise_for_status()
    # The link is marked: the next payment is not offered as one tap.
    sent, summary = _summary(stack, wa_id, "send 3 to " + pointer(stack.wallet("bob")))
    assert payments_api.for_key(sent["id"])["link_id"] is None
    assert "left this week" not in text_of(summary)
