"""The sandbox wallet's consent page in a browser: sign in as the paying wallet, then answer.

Approving needs the wallet's password (random per sandbox run); the operator's admin API knows
it, as the balances page shows it, so tests read it there the way a demo user reads the page.
"""

from __future__ import annotations

import httpx
from playwright.sync_api import Page


def wallet_password(page: Page) -> str:
    """The password of the wallet the open consent page pays from."""
    base = page.url.split("/auth/interact/", 1)[0]
    wallet = page.get_by_test_id("consent").get_attribute("data-wallet")
    assert wallet, "the consent page names no paying wallet"
    answer = httpx.get(f"{base}/admin/wallets/{wallet}", timeout=10)
    answer.raise_for_status()
    return str(answer.json()["password"])


def sign_in(page: Page, password: str | None = None) -> None:
    page.get_by_test_id("password").fill(password or wallet_password(page))


def approve(page: Page, password: str | None = None) -> None:
    """Sign in with the right password (or the one given) and press Approve."""
    sign_in(page, password)
    page.get_by_test_id("approve").click()
