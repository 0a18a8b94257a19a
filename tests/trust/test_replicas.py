"""Two ws_bot and two op_api replicas on one PostgreSQL database.

Meta retries webhooks and people tap buttons many times; with replicas those duplicates land on
different processes at once. Only the database can decide who wins, so these tests aim every
duplicate at both replicas concurrently and count what reached the wallet and the phone.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from tests.support.processes import TEST_TOKEN
from tests.trust.support import (
    DB_PASSWORD,
    FAST_POLLING,
    PG_SERVER,
    Replicated,
    approval_url,
    ask_and_confirm,
    button_id,
    button_message,
    buttons_of,
    debits,
    deliver_all,
    duplicates_pay_once,
    outgoing_creations,
    pg_database,
    pointer,
    receipts,
    replicated_stack,
    sql,
    text_message,
    text_of,
    update_body,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicated]:
    try:
        sql(PG_SERVER, "SELECT 1")
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL not reachable at {PG_SERVER}: {type(exc).__name__}")
    with (
        pg_database() as url,
        replicated_stack(
            tmp_path_factory.mktemp("replicas"), database_url=url, bot_env=FAST_POLLING
        ) as s,
    ):
        yield s


def _new_sender(stack: Replicated, name: str, allowance: str | None = None) -> tuple[str, str]:
    """A WhatsApp user onboarded with a wallet of their own (so its movements are theirs),
    linked with `allowance` (the list's row; "ask me every time" by default)."""
    wa_id = str(15550700000 + uuid.uuid4().int % 99999)
    wallet = stack.wallet.add_wallet(f"{name}{wa_id}", "100.00")
    stack.phone.onboard(wa_id, name.capitalize(), pointer(wallet), allowance=allowance)
    return wa_id, wallet.rsplit("/", 1)[1]


def test_duplicate_webhooks_and_taps_across_replicas_pay_once(stack: Replicated) -> None:
    wa_id, wallet_name = _new_sender(stack, "alice")
    urls = [bot.url for bot in stack.bots]
    duplicates_pay_once(stack, wa_id, "Alice", wallet_name, urls, asks=20, taps=50)


def test_duplicate_taps_of_a_one_tap_payment_across_replicas_pay_once(stack: Replicated) -> None:
    """Issue 17: within the allowance the Confirm pays at once (`/payments/{id}/authorize`), won
    by the same conditional update: fifty taps on two replicas pay it once, with no consent."""
    phone, bots = stack.phone, stack.bots
    wa_id, wallet_name = _new_sender(stack, "dora", allowance="Up to 50 USD a week")
    n = phone.count(wa_id)
    phone.say(wa_id, "send 5 to " + pointer(stack.wallet.address("bob")))
    summary = phone.wait_for(wa_id, lambda m: "Confirm" in buttons_of(m), after=n, timeout=30)
    assert "left this week" in text_of(summary)
    confirm = button_id(summary, "Confirm")
    n = phone.count(wa_id)
    taps = [
        (
            bots[i % 2].url,
            update_body(
                wa_id,
                "Dora",
                button_message(wa_id, f"wamid.tap{i}{uuid.uuid4().hex}", confirm, "Confirm"),
            ),
        )
        for i in range(50)
    ]
    assert asyncio.run(deliver_all(taps)) == [200] * 50
    phone.wait_text(wa_id, "Payment sent", after=n, timeout=60)
    time.sleep(2.0)  # a second authorization, debit or receipt would show up now
    answers = phone.bot_messages(wa_id)[n:]
    assert sum("Paying 5.00 USD" in text_of(m) for m in answers) == 1, [text_of(m) for m in answers]
    assert not any(approval_url(m) for m in answers)
    assert receipts(phone, wa_id, n) == 1
    assert len(debits(stack, wallet_name)) == 1
    assert len(outgoing_creations(stack.wallet, stack.wallet.address(wallet_name))) == 1


def _requests(stack: Replicated, path: str, request_id: str) -> list[tuple[float, float, int]]:
    """(start, end, op_api replica) of every request to `path` with `request_id`, from
    op_api's access log (one line at the end of each request, with its duration)."""
    seen: list[tuple[float, float, int]] = []
    for i, op in enumerate(stack.ops):
        for line in op.proc.logs().splitlines():
            if not line.startswith("{"):
                continue
            record = json.loads(line)
            if (
                record.get("message") == "request"
                and record.get("path") == path
                and record.get("request_id") == request_id
            ):
                when = datetime.strptime(record["time"], "%Y-%m-%d %H:%M:%S,%f").astimezone()
                end = when.timestamp()
                seen.append((end - record["duration_ms"] / 1000, end, i))
    return sorted(seen)


def _lease_owner(stack: Replicated, payment_id: str) -> str | None:
    assert stack.database_url is not None
    query = f"SELECT lease_owner, notified FROM ws_payments WHERE payment_id = '{payment_id}'"
    (owner, notified), *_ = sql(stack.database_url, query)
    return None if notified else owner


def test_a_payment_is_followed_by_one_lease_and_taken_over_when_a_replica_dies(
    stack: Replicated,
) -> None:
    """Each ws_bot replica follows the payments it leased with one long poll at its op_api
    (`POST /payments/watch`), renewing the leases: a payment is never followed by both at
    once, nor polled one by one. When the holder dies, the other takes the payment over once
    the lease lapses, and the user gets one receipt."""
    phone = stack.phone
    wa_id, _ = _new_sender(stack, "carol")
    url = ask_and_confirm(phone, wa_id, "send 2 to " + pointer(stack.wallet.address("bob")))
    payment_id = _payment_id_for(stack, wa_id)
    holders = []
    for _ in range(8):  # 4 s, past the 3 s lease: renewed by its holder, never shared
        holders.append(_lease_owner(stack, payment_id))
        time.sleep(0.5)
    assert len(set(holders)) == 1, holders
    assert holders[0] in {"bot-0", "bot-1"}, holders
    assert _requests(stack, "/confirm-payment", f"poll-{payment_id}") == []
    victim = int(holders[0].removeprefix("bot-"))
    survivor = 1 - victim
    assert _requests(stack, "/payments/watch", f"watch-bot-{victim}"), "the holder never watched"

    stack.bots[victim].kill()
    try:
        killed_at = time.time()
        n = phone.count(wa_id)
        assert stack.wallet.answer(url, "approve").status_code == 200
        phone.wait_text(wa_id, "Payment sent", after=n, timeout=30)
        time.sleep(1.5)
        assert receipts(phone, wa_id, n) == 1
        after = _requests(stack, "/payments/watch", f"watch-bot-{survivor}")
        assert [w for w in after if w[1] > killed_at], "nobody watched after the kill"
        assert _requests(stack, "/confirm-payment", f"poll-{payment_id}") == []
    finally:
        if victim is not None:
            stack.bots[victim].start()


def _payment_id_for(stack: Replicated, wa_id: str) -> str:
    """The op_api payment id of the user's only payment, read from the shared database."""
    assert stack.database_url is not None
    rows = sql(stack.database_url, f"SELECT payment_id FROM ws_payments WHERE wa_id = '{wa_id}'")
    assert len(rows) == 1, rows
    return str(rows[0][0])


def test_both_op_api_replicas_racing_confirm_create_one_outgoing_payment(
    stack: Replicated,
) -> None:
    """After approval, 40 /confirm-payment calls split across both op_api replicas at once:
    the claim in the shared database lets exactly one of them POST the outgoing payment."""
    wallet = stack.wallet
    sender = wallet.add_wallet(f"race{uuid.uuid4().hex[:8]}", "30.00")
    payment = stack.ops[0].start(sender, wallet.address("bob"), "2.50")
    assert wallet.answer(payment["confirmationUrl"]).status_code == 200

    async def race() -> list[str]:
        async with httpx.AsyncClient(timeout=30, headers=AUTH) as client:

            async def confirm(i: int) -> str:
                url = f"{stack.ops[i % 2].url}/confirm-payment"
                r = await client.post(url, json={"paymentId": payment["paymentId"]})
                assert r.status_code == 200, r.text
                return str(r.json()["status"])

            return list(await asyncio.gather(*(confirm(i) for i in range(40))))

    deadline = time.monotonic() + 30
    statuses: list[str] = []
    while time.monotonic() < deadline and "completed" not in statuses:
        statuses = asyncio.run(race())
    assert "completed" in statuses
    assert stack.ops[1].get(payment["paymentId"])["status"] == "completed"
    assert len(outgoing_creations(wallet, sender)) == 1
    assert len(debits(stack, sender.rsplit("/", 1)[1])) == 1


def test_a_message_held_by_a_killed_replica_is_answered_once_by_the_other(
    stack: Replicated,
) -> None:
    """The inbox lease: a replica dies while handling a message (stuck waiting on llm_back);
    once its lease runs out the other replica takes the stored message and answers it, once."""
    phone = stack.phone
    wa_id, _ = _new_sender(stack, "ines")
    n = phone.count(wa_id)
    message_id = f"wamid.held{uuid.uuid4().hex}"
    assert stack.database_url is not None
    assert stack.llm.proc is not None
    os.kill(stack.llm.proc.pid, signal.SIGSTOP)  # the handler now waits on llm_back
    owner, victim = None, None
    try:
        body = update_body(
            wa_id, "Ines", text_message(wa_id, message_id, "what a lovely day it is")
        )
        assert asyncio.run(deliver_all([(stack.bots[0].url, body)])) == [200]
        deadline = time.monotonic() + 10
        while owner is None and time.monotonic() < deadline:
            rows = sql(
                stack.database_url,
                f"SELECT lease_owner FROM ws_inbox WHERE message_id = '{message_id}'",
            )
            owner = rows[0][0] if rows and rows[0][0] else None
            time.sleep(0.05)
        assert owner in ("bot-0", "bot-1"), owner
        victim = int(owner.rsplit("-", 1)[1])
        stack.bots[victim].kill()
    finally:
        os.kill(stack.llm.proc.pid, signal.SIGCONT)
    try:
        reply = phone.wait_for(wa_id, lambda m: True, after=n, timeout=30)
        time.sleep(1.0)
        assert phone.count(wa_id) - n == 1, [text_of(m) for m in phone.bot_messages(wa_id)[n:]]
        assert "went wrong" not in text_of(reply)
        rows = sql(
            stack.database_url,
            f"SELECT status, lease_owner FROM ws_inbox WHERE message_id = '{message_id}'",
        )
        assert rows == [("done", None)], rows
    finally:
        if victim is not None:
            stack.bots[victim].start()


def test_the_database_password_never_reaches_a_log(stack: Replicated) -> None:
    """Runs last in this module: every replica has connected, polled and been killed by now."""
    for proc in [*stack.bots, *(o.proc for o in stack.ops)]:
        assert DB_PASSWORD not in proc.logs(), proc.name
