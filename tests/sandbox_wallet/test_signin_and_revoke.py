"""Only the wallet's owner approves (a password on the consent page), and the owner can take
access back from the wallet's own page — both in headless Chromium."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.sandbox_wallet.gnap import PyClient
from tests.sandbox_wallet.support import Wallet, start_wallet
from tests.support.consent import approve, sign_in, wallet_password
from tests.support.processes import console_script

pytestmark = pytest.mark.browser


def _usd(value: str) -> dict[str, Any]:
    return {"value": value, "assetCode": "USD", "assetScale": 2}


def _state(wallet: Wallet, pending: dict[str, Any]) -> str:
    interact_id = pending["interact"]["redirect"].split("/interact/")[1].split("/")[0]
    found = wallet.admin("GET", "/interactions")["interactions"]
    return str(next(i["state"] for i in found if i["interactId"] == interact_id))


def test_approve_needs_the_wallets_password(
    op: PyClient, shared_wallet: Wallet, page: Page, artifacts_dir: Path
):
    limits = {"debitAmount": _usd("5000"), "interval": "R/2026-12-01T00:00:00Z/P1W"}
    pending = op.pending_grant(limits)
    page.goto(pending["interact"]["redirect"])
    expect(page.get_by_test_id("allowance")).to_have_text(
        "You allow: up to 50.00 USD per week, renewing every week from 1 Dec 2026, 00:00 UTC"
    )
    right = wallet_password(page)
    assert right == shared_wallet.admin("GET", "/wallets/alice")["password"]

    page.get_by_test_id("approve").click()  # no password at all
    expect(page.get_by_test_id("signin-error")).to_have_text(
        "Enter your wallet's password to approve."
    )
    sign_in(page, right + "x")
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("signin-error")).to_have_text(
        "Wrong password. Nothing was approved; try again."
    )
    page.screenshot(path=str(artifacts_dir / "wrong-password.png"), full_page=True)
    assert _state(shared_wallet, pending) == "pending"
    time.sleep(pending["continue"]["wait"] + 0.05)
    still = op.continue_grant(pending)
    assert still.status_code == 200
    assert "access_token" not in still.json()

    approve(page, right)
    expect(page.get_by_test_id("message-title")).to_have_text("Allowance approved")
    assert _state(shared_wallet, pending) == "approved"
    time.sleep(pending["continue"]["wait"] + 0.05)
    assert op.continue_grant(pending).json()["access_token"]["access"][0]["limits"] == limits


def test_the_password_is_the_paying_wallets_own(op: PyClient, shared_wallet: Wallet, page: Page):
    pending = op.pending_grant({"debitAmount": _usd("100")})
    page.goto(pending["interact"]["redirect"])
    bob = shared_wallet.admin("GET", "/wallets/bob")["password"]
    approve(page, bob)
    expect(page.get_by_test_id("signin-error")).to_be_visible()
    assert _state(shared_wallet, pending) == "pending"
    page.get_by_test_id("reject").click()  # rejecting needs no sign-in
    expect(page.get_by_test_id("message-title")).to_have_text("Payment rejected")


def test_a_link_without_spending_says_so(op: PyClient, page: Page, artifacts_dir: Path):
    pending = op.pending_grant(None, actions=("read", "list"))
    page.goto(pending["interact"]["redirect"])
    expect(page.get_by_test_id("consent")).to_contain_text("Paguito wants to link your wallet")
    expect(page.get_by_test_id("allowance")).to_have_text(
        "You allow: links this wallet: Paguito can read payments it makes and cannot spend"
    )
    page.screenshot(path=str(artifacts_dir / "link-consent.png"), full_page=True)
    approve(page)
    expect(page.get_by_test_id("message-title")).to_have_text("Wallet linked")


def test_revoke_from_the_balances_page(
    op: PyClient, shared_wallet: Wallet, page: Page, artifacts_dir: Path
):
    limits = {"debitAmount": _usd("2500"), "interval": "R/2026-11-01T00:00:00Z/P1W"}
    issued = op.approved_token(limits)
    incoming = op.incoming(op.incoming_token("bob"), "bob", value="1000")
    quote_token = op.quote_token()
    assert op.pay(issued["value"], op.quote(quote_token, incoming["id"])).status_code == 201
    grant_id = next(
        g["id"]
        for g in shared_wallet.admin("GET", "/grants?wallet=alice")["grants"]
        if g["limits"] == limits
    )

    page.goto(shared_wallet.url + "/balances")
    password = shared_wallet.admin("GET", "/wallets/alice")["password"]
    expect(page.get_by_test_id("password-alice")).to_have_text(password)
    row = page.get_by_test_id(f"grant-{grant_id}")
    expect(row).to_contain_text("Paguito")
    expect(row).to_contain_text("up to 25.00 USD per week")
    expect(page.get_by_test_id(f"spent-{grant_id}")).to_have_text("10.10 USD")
    page.screenshot(path=str(artifacts_dir / "balances-grants.png"), full_page=True)
    page.get_by_test_id(f"revoke-{grant_id}").click()
    expect(page.get_by_test_id("notice")).to_have_text("Access revoked: its tokens no longer work.")
    expect(page.get_by_test_id(f"grant-{grant_id}")).to_have_count(0)

    second = op.incoming(op.incoming_token("bob"), "bob", value="100")
    refused = op.pay(issued["value"], op.quote(quote_token, second["id"]))
    assert (refused.status_code, refused.json()["error"]["description"]) == (
        403,
        "Inactive Token",
    )
    assert op.request("POST", issued["manage"], token=issued["value"]).status_code == 404


def test_revoke_refuses_a_form_from_elsewhere(op: PyClient, shared_wallet: Wallet):
    issued = op.approved_token({"debitAmount": _usd("700")})
    grant_id = next(
        g["id"]
        for g in shared_wallet.admin("GET", "/grants?wallet=alice")["grants"]
        if g["limits"] == {"debitAmount": _usd("700")}
    )
    url = f"{shared_wallet.url}/balances/grants/{grant_id}/revoke"
    for form in ({}, {"form_token": "guessed"}):
        assert httpx.post(url, data=form, timeout=10).status_code == 403
    quote = op.quote(op.quote_token(), op.incoming(op.incoming_token("bob"), value="100")["id"])
    assert op.pay(issued["value"], quote).status_code == 201


def test_configured_passwords_are_used_and_bad_ones_refused(spawn, tmp_path: Path):
    wallet = start_wallet(spawn, tmp_path, "--password", "alice=open-sesame")
    assert wallet.admin("GET", "/wallets/alice")["password"] == "open-sesame"
    bob = wallet.admin("GET", "/wallets/bob")["password"]
    assert len(bob) >= 8  # not configured: random for this run
    assert bob != "open-sesame"
    bad = subprocess.run(
        [console_script("paguito-sandbox"), "wallet", "--password", "alice"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode != 0
    assert "expected NAME=PASSWORD" in bad.stderr


def test_guessing_locks_the_request(op: PyClient, shared_wallet: Wallet):
    pending = op.pending_grant({"debitAmount": _usd("100")})
    url = pending["interact"]["redirect"] + "/approve"
    for guess in range(5):
        wrong = httpx.post(url, data={"password": f"guess-{guess}"}, timeout=10)
        assert wrong.status_code == 401
        assert "Wrong password" in wrong.text
    right = shared_wallet.admin("GET", "/wallets/alice")["password"]
    locked = httpx.post(url, data={"password": right}, timeout=10)
    assert locked.status_code == 401
    assert "this request is locked" in locked.text
    assert _state(shared_wallet, pending) == "pending"
