"""The official Node Open Payments client pays through the sandbox; a person approves in Chromium.

Every message the client and the wallet traded is then validated against the official specs.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.sandbox_wallet.openapi_check import validate
from tests.sandbox_wallet.support import NodeFlow, Wallet, start_wallet
from tests.support.consent import approve

pytestmark = [pytest.mark.browser, pytest.mark.node]


def _approve_in_browser(page: Page, redirect: str, artifacts: Path) -> None:
    page.goto(redirect)
    expect(page.get_by_test_id("client-name")).to_have_text("Paguito")
    expect(page.get_by_test_id("payer")).to_contain_text("Alice")
    expect(page.get_by_test_id("payee")).to_contain_text("Bob")
    expect(page.get_by_test_id("debit")).to_have_text("20.20 USD")
    expect(page.get_by_test_id("fee")).to_have_text("0.20 USD")
    expect(page.get_by_test_id("receive")).to_have_text("20.00 USD")
    page.screenshot(path=str(artifacts / "consent.png"), full_page=True)
    approve(page)


def _check_payment(
    wallet: Wallet, before: dict[str, int], done: dict[str, Any], page: Page, artifacts: Path
) -> None:
    quote = done["quote"]
    debit, receive = int(quote["debitAmount"]["value"]), int(quote["receiveAmount"]["value"])
    assert (debit, receive) == (2020, 2000)
    after = wallet.balances()
    assert before["alice"] - after["alice"] == debit
    assert after["bob"] - before["bob"] == receive
    assert {k: v for k, v in after.items() if k not in {"alice", "bob"}} == {
        k: v for k, v in before.items() if k not in {"alice", "bob"}
    }
    assert done["incomingNow"]["completed"] is True
    assert done["incomingNow"]["receivedAmount"]["value"] == "2000"
    # Like Rafiki, sentAmount excludes the fee.
    assert done["outgoingNow"]["sentAmount"]["value"] == "2000"
    assert done["outgoingNow"]["failed"] is False
    # Like Rafiki: the grant's spending before this payment (the official client passes it on).
    assert done["outgoing"]["grantSpentDebitAmount"]["value"] == "0"
    assert done["spent"]["spentDebitAmount"]["value"] == "2020"
    assert done["publicIncoming"]["receivedAmount"]["value"] == "2000"
    assert done["listed"]["result"][0]["id"] == done["incoming"]["id"]
    # The token arrives once; rotation and revocation retire tokens at once.
    assert (done["again"]["status"], done["again"]["code"]) == (401, "request_denied")
    assert (done["oldTokenUse"]["status"], done["oldTokenUse"]["description"]) == (
        403,
        "Inactive Token",
    )
    assert done["newTokenUse"]["ok"] is True
    assert done["revokedTokenUse"]["status"] == 403
    assert done["afterCancel"]["status"] == 403
    page.goto(wallet.url + "/balances")
    expect(page.get_by_test_id("balance-alice")).to_have_text("979.80 USD")
    expect(page.get_by_test_id("balance-bob")).to_have_text("1020.00 USD")
    page.screenshot(path=str(artifacts / "balances.png"), full_page=True)
    exchanges = wallet.exchanges()
    assert len(exchanges) > 25
    problems = [p for exchange in exchanges for p in validate(exchange)]
    assert problems == []


def test_official_client_pays_after_approval_with_finish_redirect(
    spawn, tmp_path, page, artifacts_dir
):
    wallet = start_wallet(spawn, tmp_path)
    before = wallet.balances()
    flow = NodeFlow(wallet, "finish")
    try:
        interact = flow.next_event()
        assert interact["event"] == "interact"
        _approve_in_browser(page, interact["redirect"], artifacts_dir)
        # The wallet sends the browser back to the client's finish URI with hash + interact_ref.
        expect(page.locator("#finished")).to_be_visible()
        assert "interact_ref=" in page.url
        assert "hash=" in page.url
        done = flow.next_event()
    finally:
        flow.stop()
    assert done["hashOk"] is True
    _check_payment(wallet, before, done, page, artifacts_dir)


def test_official_client_polls_while_the_user_approves(spawn, tmp_path, page, artifacts_dir):
    wallet = start_wallet(spawn, tmp_path)
    before = wallet.balances()
    flow = NodeFlow(wallet, "poll")
    try:
        interact = flow.next_event()
        _approve_in_browser(page, interact["redirect"], artifacts_dir)
        expect(page.get_by_test_id("message-title")).to_have_text("Payment approved")
        expect(page.get_by_test_id("message-text")).to_contain_text("go back to WhatsApp")
        page.screenshot(path=str(artifacts_dir / "approved.png"))
        done = flow.next_event()
    finally:
        flow.stop()
    first_poll = done["polls"][0]
    assert (first_poll["status"], first_poll["code"]) == (400, "too_fast")
    _check_payment(wallet, before, done, page, artifacts_dir)


def test_official_client_pays_twice_within_an_allowance_per_interval(
    spawn, tmp_path, page, artifacts_dir
):
    wallet = start_wallet(spawn, tmp_path)
    before = wallet.balances()
    interval = f"R/{datetime.now(UTC):%Y-%m-%d}T00:00:00Z/P1W"
    flow = NodeFlow(
        wallet,
        "poll",
        amount="400",
        script="wallet-interval-flow.mjs",
        LIMIT="1000",
        INTERVAL=interval,
        PAYMENTS="3",
    )
    try:
        interact = flow.next_event()
        page.goto(interact["redirect"])
        expect(page.get_by_test_id("allowance")).to_contain_text(
            "up to 10.00 USD per week, renewing every week from"
        )
        page.screenshot(path=str(artifacts_dir / "allowance-consent.png"), full_page=True)
        approve(page)
        expect(page.get_by_test_id("message-title")).to_have_text("Allowance approved")
        done = flow.next_event()
    finally:
        flow.stop()
    assert done["granted"]["access_token"]["access"][0]["limits"] == done["limits"]
    assert done["spentBefore"]["spentDebitAmount"] is None
    first, second, third = (p["outgoing"] for p in done["payments"])
    assert [p["quote"]["debitAmount"]["value"] for p in done["payments"]] == ["404"] * 3
    assert (first["ok"], second["ok"]) == (True, True)
    assert first["value"]["grantSpentDebitAmount"]["value"] == "0"
    assert second["value"]["grantSpentDebitAmount"]["value"] == "404"
    assert (third["ok"], third["status"]) == (False, 403)  # 3 × 4.04 > 10.00 this week
    assert done["spent"]["spentDebitAmount"]["value"] == "808"
    assert len(done["listed"]["result"]) == 2
    deadline = time.monotonic() + 10
    while before["alice"] - wallet.balances()["alice"] != 808:
        assert time.monotonic() < deadline, wallet.balances()
        time.sleep(0.1)
    problems = [p for exchange in wallet.exchanges() for p in validate(exchange)]
    assert problems == []
