"""Issue 17's "the allowance renews next interval" through the chat: the sandbox phone and
wallet, the real op_api and llm_back's offline parser, with INTERVAL_OVERRIDE shortening "a
week" to a few seconds. Within one interval 15 of 20 goes with one tap and 10 more goes to the
consent page; in the next interval 10 is one tap again. Money is counted at the wallet, and the
test waits on the interval boundary the wallet reports, never on a guess."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.op_api.harness import Wallet
from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import Message, Stack, approval_url, buttons_of, real_stack, text_of

pytestmark = pytest.mark.slow
WAIT = 30.0
INTERVAL = 15
# The 15 paid and the 10 refused must fall in one interval: start them with this much left.
ROOM = 11.0


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Wallet]]:
    base = tmp_path_factory.mktemp("ws_bot_renewal")
    op_env = {"PAYMENT_EXPIRY_SECONDS": "60", "WORKER_INTERVAL_SECONDS": "0.3"}
    bot_env = {"INTERVAL_OVERRIDE": f"PT{INTERVAL}S"}
    with real_stack(base, op_env, bot_env=bot_env) as (stack, wallet, _):
        yield stack, wallet


def _grant(wallet: Wallet, name: str) -> dict[str, Any]:
    """The wallet's one live grant from `name`: its interval, what it spent in the current one
    (`spentDebit`) and when that ends (`intervalEnds`)."""
    grants = wallet.admin("GET", f"/grants?wallet={name}").json()["grants"]
    assert len(grants) == 1, grants
    grant: dict[str, Any] = grants[0]
    return grant


def _ends(grant: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(grant["intervalEnds"].replace("Z", "+00:00"))


def _left(grant: dict[str, Any]) -> float:
    return (_ends(grant) - datetime.now(UTC)).total_seconds()


def _next_interval(wallet: Wallet, name: str, after: datetime) -> dict[str, Any]:
    """Wait for the interval that starts at (or after) `after`, as the wallet counts it."""
    time.sleep(max(0.0, (after - datetime.now(UTC)).total_seconds()))
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        grant = _grant(wallet, name)
        if grant["intervalEnds"] and _ends(grant) > after:
            return grant
        time.sleep(0.2)
    raise AssertionError(f"the wallet never started the interval after {after}")


def _summary(stack: Stack, wa_id: str, text: str) -> Message:
    n = stack.phone.count(wa_id)
    stack.phone.say(wa_id, text)
    return stack.phone.wait_for(wa_id, lambda m: "Confirm" in buttons_of(m), after=n, timeout=WAIT)


def _debit(summary: Message) -> int:
    """What the summary says leaves the wallet, in minor units."""
    found = re.search(r"Leaves your wallet: (\d+\.\d{2}) USD", text_of(summary))
    assert found, text_of(summary)
    return int(Decimal(found.group(1)) * 100)


def _one_tap(stack: Stack, wallet: Wallet, wa_id: str, mine: str, to: str, amount: int) -> int:
    """Pay `amount` USD with one tap (no approval link); the balances move exactly. Returns
    what left the wallet, in minor units."""
    phone = stack.phone
    start, got = wallet.balance(mine), wallet.balance(to)
    summary = _summary(stack, wa_id, f"send {amount} to {pointer(wallet.address(to))}")
    assert re.search(r"You'll have \d+\.\d{2} USD left this week", text_of(summary)), text_of(
        summary
    )
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")
    phone.wait_text(wa_id, "Payment sent", after=n, timeout=WAIT)
    assert not any(approval_url(m) for m in phone.bot_messages(wa_id)[n:])
    assert wallet.balance(to) - got == amount * 100
    assert start - wallet.balance(mine) == _debit(summary)
    return _debit(summary)


def test_the_allowance_renews_next_interval(real: tuple[Stack, Wallet], uid) -> None:
    stack, wallet = real
    phone = stack.phone
    wa_id = uid()
    mine, to = f"u{wa_id}", f"r{wa_id}"
    wallet.add_wallet(mine, "100.00")
    wallet.add_wallet(to, "0.00")
    phone.onboard(wa_id, "Ana", pointer(wallet.address(mine)), allowance="Up to 20 USD a week")
    linked = text_of(phone.bot_messages(wa_id)[-1])
    assert "Wallet linked · up to 20.00 USD a week without asking" in linked  # the period chosen
    grant = _grant(wallet, mine)
    assert grant["interval"].endswith(f"/PT{INTERVAL}S"), grant  # what the wallet enforces

    # 15 with one tap and 10 refused, both in one interval: start early in one.
    if _left(grant) < ROOM:
        grant = _next_interval(wallet, mine, _ends(grant))
    window = grant["intervalEnds"]
    spent = _one_tap(stack, wallet, wa_id, mine, to, 15)
    summary = _summary(stack, wa_id, f"send 10 to {pointer(wallet.address(to))}")
    assert "more than your allowance has left" in text_of(summary), text_of(summary)
    grant = _grant(wallet, mine)
    assert grant["intervalEnds"] == window, "the interval ended before the check: machine slow"
    assert grant["spentDebit"] == str(spent)
    before, got = wallet.balance(mine), wallet.balance(to)
    n = phone.count(wa_id)
    phone.tap(wa_id, "Cancel")
    phone.wait_text(wa_id, "Nothing was sent", after=n, timeout=WAIT)
    assert not any(approval_url(m) for m in phone.bot_messages(wa_id)[n:])

    # The next interval: nothing spent in it, and 10 is one tap again.
    grant = _next_interval(wallet, mine, _ends(grant))
    assert grant["spentDebit"] == "0"
    assert (wallet.balance(mine), wallet.balance(to)) == (before, got)
    _one_tap(stack, wallet, wa_id, mine, to, 10)


def test_an_allowance_said_in_words_is_shortened_too(real: tuple[Stack, Wallet], uid) -> None:
    """ "set my allowance to 5 a week" asks op_api for the shortened interval as well."""
    stack, wallet = real
    phone = stack.phone
    wa_id = uid()
    mine = f"u{wa_id}"
    wallet.add_wallet(mine, "100.00")
    phone.onboard(wa_id, "Ana", pointer(wallet.address(mine)))
    n = phone.count(wa_id)
    phone.say(wa_id, "set my allowance to 5 a week")
    button = phone.wait_for(wa_id, lambda m: approval_url(m) is not None, after=n, timeout=WAIT)
    assert "up to 5.00 USD a week without asking" in text_of(button)
    n = phone.count(wa_id)
    phone.answer(approval_url(button) or "", "approve")
    phone.wait_text(wa_id, "✅ Wallet linked", after=n, timeout=WAIT)
    grant = _grant(wallet, mine)
    assert grant["interval"].endswith(f"/PT{INTERVAL}S"), grant
    assert grant["limits"]["debitAmount"]["value"] == "500"
