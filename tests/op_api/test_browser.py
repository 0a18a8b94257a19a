"""The user's side of approval, in headless Chromium: the wallet's consent page, then back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.op_api.harness import OpApi, Wallet
from tests.support.consent import approve
from tests.support.processes import free_port

pytestmark = pytest.mark.browser
Start = Callable[..., OpApi]


def test_approve_in_the_browser_returns_to_op_api(
    page: Page, wallet: Wallet, op_api: Start, artifacts_dir: Path
) -> None:
    port = free_port()
    api = op_api(port=port, PUBLIC_URL=f"http://127.0.0.1:{port}")
    payment = api.start(wallet.address("alice"), wallet.address("bob"), "9.00")
    page.goto(payment["confirmationUrl"])
    body = page.inner_text("body")
    assert "9.00" in body
    page.screenshot(path=str(artifacts_dir / "consent.png"))
    approve(page)  # signs in as Alice first
    page.wait_for_url(f"{api.url}/payments/{payment['paymentId']}/finish?**")
    assert "WhatsApp" in page.inner_text("body")
    page.screenshot(path=str(artifacts_dir / "finish.png"))
    assert api.until_final(payment["paymentId"])["status"] == "completed"


def test_reject_in_the_browser_without_finish_redirect(
    page: Page, wallet: Wallet, op_api: Start
) -> None:
    api = op_api()
    payment = api.start(wallet.address("alice"), wallet.address("bob"), "9.50")
    page.goto(payment["confirmationUrl"])
    page.click("#reject")
    page.wait_for_load_state()
    assert api.until_final(payment["paymentId"])["status"] == "rejected"
