"""A payment through ws_bot as two processes (ROLE=webhook beside ROLE=worker) on one SQLite
file, with the real op_api and the sandbox wallet: Meta's retries and a user's repeated taps
all land on the webhook process, the worker answers them, and the money moves once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.trust.support import (
    Replicated,
    approval_url,
    button_id,
    button_message,
    buttons_of,
    deliver_all,
    outgoing_creations,
    pointer,
    receipts,
    replicated_stack,
    text_message,
    text_of,
    update_body,
)

pytestmark = pytest.mark.slow

FAST_POLLING = {
    "POLL_INITIAL_SECONDS": "0.3",
    "POLL_MAX_SECONDS": "0.6",
    "POLLER_TICK_SECONDS": "0.2",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicated]:
    with replicated_stack(
        tmp_path_factory.mktemp("two_processes"),
        replicas=1,
        bot_env=FAST_POLLING,
        worker_process=True,
    ) as s:
        yield s


def _debits(stack: Replicated, wallet: str) -> list[dict[str, Any]]:
    body = stack.wallet.admin("GET", f"/wallets/{wallet}").json()
    return [m for m in body["movements"] if int(m["amount"]) < 0]


def test_retried_asks_and_repeated_taps_pay_once_with_one_receipt(stack: Replicated) -> None:
    phone, webhook = stack.phone, stack.bots[0]
    wa_id = str(15550800000 + uuid.uuid4().int % 99999)
    wallet = stack.wallet.add_wallet(f"ana{wa_id}", "100.00")
    phone.onboard(wa_id, "Ana", pointer(wallet))
    n = phone.count(wa_id)
    ask = update_body(
        wa_id,
        "Ana",
        text_message(
            wa_id,
            f"wamid.ask{uuid.uuid4().hex}",
            "send 5 to " + pointer(stack.wallet.address("bob")),
        ),
    )
    assert asyncio.run(deliver_all([(webhook.url, ask)] * 10)) == [200] * 10
    summary = phone.wait_for(wa_id, lambda m: "Confirm" in buttons_of(m), after=n, timeout=30)
    time.sleep(1.0)  # a duplicate answered late would show up now
    summaries = [m for m in phone.bot_messages(wa_id)[n:] if "Confirm" in buttons_of(m)]
    assert len(summaries) == 1, [text_of(m) for m in phone.bot_messages(wa_id)[n:]]

    confirm = button_id(summary, "Confirm")
    n = phone.count(wa_id)
    taps = [
        update_body(
            wa_id,
            "Ana",
            button_message(wa_id, f"wamid.tap{i}{uuid.uuid4().hex}", confirm, "Confirm"),
        )
        for i in range(10)
    ]
    assert asyncio.run(deliver_all([(webhook.url, tap) for tap in taps])) == [200] * 10
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and phone.count(wa_id) - n < 10:
        time.sleep(0.2)
    answers = phone.bot_messages(wa_id)[n:]
    links = [m for m in answers if approval_url(m)]
    assert len(links) == 1, [text_of(m) for m in answers]
    assert sum("already confirmed" in text_of(m) for m in answers) == 9

    url = approval_url(links[0])
    assert url is not None
    n = phone.count(wa_id)
    assert stack.wallet.answer(url, "approve").status_code == 200
    phone.wait_text(wa_id, "Payment sent", after=n, timeout=30)
    time.sleep(2.0)  # the worker's poller gets several more ticks to (wrongly) say it again
    assert receipts(phone, wa_id, n) == 1
    name = wallet.rsplit("/", 1)[1]
    assert len(_debits(stack, name)) == 1
    assert len(outgoing_creations(stack.wallet, stack.wallet.address(name))) == 1
