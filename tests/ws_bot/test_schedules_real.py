"""Scheduled payments through the real stack (issue 17): the sandbox wallet (interval grants),
the real op_api (links, one-tap authorize) and llm_back's offline parser, with the sandbox phone
playing the users. "every week" is shortened to a few seconds by SCHEDULE_INTERVAL_OVERRIDE.

Money is counted at the wallet: each run moves exactly the amount named, once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.op_api.harness import Wallet
from tests.support.processes import console_script, free_port
from tests.trust.support import PG_SERVER, pg_database, sql
from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import Stack, approval_url, buttons_of, real_stack, text_of

pytestmark = pytest.mark.slow

INTERVAL = 5.0
OVERRIDE = {"SCHEDULE_INTERVAL_OVERRIDE": f"PT{int(INTERVAL)}S"}
OP_ENV = {"WORKER_INTERVAL_SECONDS": "0.3"}


def _users(stack: Stack, wallet: Wallet, alice: str, bob: str, source: str = "alice") -> None:
    phone = stack.phone
    phone.onboard(bob, "Bob", pointer(wallet.address("bob")))
    phone.onboard(alice, "Alice", pointer(wallet.address(source)))
    n = phone.count(alice)
    phone.say(alice, "save Bob as " + pointer(wallet.address("bob")))
    phone.wait_text(alice, "Saved Bob", after=n)


def _schedule(stack: Stack, wallet: Wallet, wa_id: str, text: str) -> None:
    """Ask, confirm the summary, approve the link at the wallet; returns once it is active."""
    phone = stack.phone
    n = phone.count(wa_id)
    phone.say(wa_id, text)
    summary = phone.wait_for(wa_id, lambda m: "Confirm" in buttons_of(m), after=n, timeout=30)
    assert "every week, the first one today" in text_of(summary)
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")
    button = phone.wait_for(wa_id, lambda m: approval_url(m) is not None, after=n, timeout=30)
    n = phone.count(wa_id)
    assert wallet.answer(approval_url(button) or "", "approve").status_code == 200
    phone.wait_text(wa_id, "Scheduled payment active", after=n, timeout=30)


def _announced(stack: Stack, wa_id: str, run: int) -> int:
    return sum(f"#{run}:" in text_of(m) for m in stack.phone.bot_messages(wa_id))


def _receipts(stack: Stack, wa_id: str) -> int:
    return sum("Payment sent" in text_of(m) for m in stack.phone.bot_messages(wa_id))


def _wait(predicate: object, timeout: float) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Wallet]]:
    with real_stack(tmp_path_factory.mktemp("sched_real"), OP_ENV, bot_env=OVERRIDE) as (
        stack,
        wallet,
        _,
    ):
        yield stack, wallet


def test_real_schedule_pays_on_time_across_a_restart_and_stops(
    real: tuple[Stack, Wallet], uid
) -> None:
    stack, wallet = real
    phone, alice, bob = stack.phone, uid(), uid()
    _users(stack, wallet, alice, bob)
    before = wallet.balance("bob")
    _schedule(stack, wallet, alice, "send 5 to Bob every week")
    phone.wait_text(alice, "Scheduled payment #1:", timeout=30)
    _wait(lambda: _receipts(stack, alice) >= 1, 30)
    phone.wait_text(bob, "Alice sent you 5.00 USD", timeout=30)
    assert wallet.balance("bob") - before == 500

    stack.restart_bot(kill=True)
    phone.wait_text(alice, "Scheduled payment #2:", timeout=30)
    _wait(lambda: _receipts(stack, alice) >= 2, 30)
    assert wallet.balance("bob") - before == 1000  # exactly one payment per run

    n = phone.count(alice)
    phone.say(alice, "my scheduled payments")
    phone.wait_for(alice, lambda m: "Stop: 5.00 USD to Bob" in buttons_of(m), after=n)
    n = phone.count(alice)
    phone.pick(alice, "Stop: 5.00 USD to Bob")
    stopped = text_of(phone.wait_text(alice, "stopped the scheduled payment", after=n))
    assert "revoked its permission" in stopped
    time.sleep(1.0)  # a run already on its way when Stop was tapped may still land
    paid = wallet.balance("bob")
    runs = max(run for run in range(1, 20) if _announced(stack, alice, run))
    time.sleep(INTERVAL * 2.5)
    assert wallet.balance("bob") == paid  # nothing after Stop
    assert _announced(stack, alice, runs + 1) == 0
    assert all(_announced(stack, alice, run) == 1 for run in range(1, runs + 1))


@pytest.mark.postgres
def test_real_two_replicas_pay_each_run_once_and_a_failed_run_is_reported(
    tmp_path_factory: pytest.TempPathFactory, uid
) -> None:
    try:
        sql(PG_SERVER, "SELECT 1")
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"no PostgreSQL: {exc}")
    base = tmp_path_factory.mktemp("sched_real_replicas")
    with pg_database() as database_url:
        env = {**OVERRIDE, "DATABASE_URL": database_url}
        with real_stack(base, OP_ENV, bot_env=env) as (stack, wallet, spawn):
            other = {**stack.bot_env, "REPLICA_ID": "ws-bot-other"}
            spawn("ws_bot_2", [console_script("ws-bot")], env=other, port=free_port())
            phone, alice, bob = stack.phone, uid(), uid()
            # Enough for two runs of 4 (and their fees), not for a third.
            _users(stack, wallet, alice, bob, source=wallet_name(wallet, alice, "9.50"))
            before = wallet.balance("bob")
            # In lower case, as people type (see cadence.without_cadence).
            _schedule(stack, wallet, alice, "send 4 to bob every week")
            phone.wait_text(alice, "Scheduled payment #2:", timeout=40)
            _wait(lambda: _receipts(stack, alice) >= 2, 30)
            assert wallet.balance("bob") - before == 800  # two runs, each paid once
            for run in (1, 2):
                assert _announced(stack, alice, run) == 1
            # The third run cannot be paid: reported, not retried into a second payment.
            # Refused before it is paid ("#3 … was not made"), or paid and failed at the wallet
            # (the receipt's "failed"): either way the user hears it, once.
            failed = phone.wait_for(
                alice,
                lambda m: (
                    ("#3" in text_of(m) and "not made" in text_of(m))
                    or ("⚠️" in text_of(m) and "failed" in text_of(m))
                ),
                timeout=40,
            )
            assert "Bob" in text_of(failed)
            time.sleep(INTERVAL)
            assert wallet.balance("bob") - before == 800


def wallet_name(wallet: Wallet, wa_id: str, balance: str) -> str:
    """A wallet of its own for this test (its balance bounds how many runs can be paid)."""
    name = f"sched{wa_id}"
    wallet.add_wallet(name, balance)
    return name
