"""Admin API, fault switches, restarts and the reject button."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.sandbox_wallet.gnap import PyClient
from tests.sandbox_wallet.support import Wallet, start_wallet


def test_fault_switches_fail_or_delay_the_next_requests(op: PyClient, shared_wallet: Wallet):
    token = op.incoming_token()
    url = f"{shared_wallet.url}/incoming-payments?wallet-address={shared_wallet.wallet('bob')}"
    shared_wallet.admin("POST", "/faults", {"scope": "resource", "mode": "error", "count": 2})
    assert [op.request("GET", url, token=token).status_code for _ in range(3)] == [500, 500, 200]
    shared_wallet.admin("POST", "/faults", {"scope": "auth", "mode": "error", "status": 503})
    assert op.grant_request([{"type": "quote", "actions": ["read"]}]).status_code == 503
    shared_wallet.admin("POST", "/faults", {"scope": "wallet", "mode": "hang", "seconds": 1})
    started = time.monotonic()
    assert httpx.get(shared_wallet.wallet("alice"), timeout=5).status_code == 200
    assert time.monotonic() - started >= 1
    only_posts = {"scope": "resource", "mode": "error", "method": "post", "path": "/quotes"}
    shared_wallet.admin("POST", "/faults", only_posts)
    assert op.request("GET", url, token=token).status_code == 200
    quote = {"walletAddress": shared_wallet.wallet("alice"), "receiver": "x", "method": "ilp"}
    assert (
        op.request("POST", f"{shared_wallet.url}/quotes", quote, op.quote_token()).status_code
        == 500
    )
    shared_wallet.admin("POST", "/faults", {"scope": "any", "mode": "error", "count": 5})
    assert shared_wallet.admin("GET", "/faults")["faults"][0]["remaining"] == 5
    shared_wallet.admin("DELETE", "/faults")
    assert httpx.get(shared_wallet.wallet("alice")).status_code == 200


def test_admin_adds_wallets_keys_and_balances(shared_wallet: Wallet):
    created = shared_wallet.admin(
        "POST",
        "/wallets",
        {"name": "erin", "publicName": "Erin", "assetCode": "EUR", "balance": "50.5"},
    )
    assert created["balance"]["value"] == "5050"
    doc = httpx.get(shared_wallet.wallet("erin")).json()
    assert (doc["publicName"], doc["assetCode"], doc["assetScale"]) == ("Erin", "EUR", 2)
    key = shared_wallet.admin("POST", "/wallets/erin/keys", {"kid": "erin-1"})
    assert "PRIVATE KEY" in key["privateKeyPem"]
    jwks = httpx.get(shared_wallet.wallet("erin") + "/jwks.json").json()
    assert jwks["keys"][0]["kid"] == "erin-1"
    assert (
        shared_wallet.admin("POST", "/wallets/erin/deposit", {"amount": "0.50"})["balance"]["value"]
        == "5100"
    )
    assert (
        shared_wallet.admin("PUT", "/wallets/erin/balance", {"balance": "7"})["balance"]["value"]
        == "700"
    )
    bad = [
        ("POST", "/wallets", {"name": "auth"}),
        ("POST", "/wallets", {"name": "x", "balance": "1.234"}),
        ("POST", "/wallets/erin/deposit", {"amount": "-100"}),
        ("POST", "/wallets/nobody/deposit", {"amount": "1"}),
    ]
    for method, path, body in bad:
        response = httpx.request(method, f"{shared_wallet.url}/admin{path}", json=body)
        assert 400 <= response.status_code < 500, (path, body, response.text)


def test_unknown_things_are_404_and_oversized_bodies_413(op: PyClient, shared_wallet: Wallet):
    assert httpx.get(shared_wallet.wallet("nobody")).status_code == 404
    assert httpx.get(shared_wallet.url + "/").headers["location"] == "/balances"
    html = httpx.get(shared_wallet.wallet("alice"), headers={"Accept": "text/html"})
    assert (html.status_code, html.headers["location"]) == (302, "/balances#wallet-alice")
    assert httpx.get(shared_wallet.wallet("nobody") + "/jwks.json").status_code == 404
    assert httpx.get(f"{shared_wallet.url}/incoming-payments/nope").status_code == 404
    big = httpx.post(shared_wallet.auth, content=b"{" + b" " * 300_000 + b"}")
    assert big.status_code == 413


def test_restart_keeps_state_and_reset_starts_clean(spawn, tmp_path):
    wallet = start_wallet(spawn, tmp_path)
    key_id = wallet.key_id
    wallet.admin("PUT", "/wallets/alice/balance", {"balance": "1.00"})
    wallet.proc.stop()
    wallet.proc.start()
    assert wallet.balances()["alice"] == 100
    assert wallet.key_id == key_id
    wallet.proc.stop()
    again = start_wallet(spawn, tmp_path, "--reset")
    assert again.balances()["alice"] == 100_000
    assert again.key_id == key_id
    env = (again.data_dir / "op_api.env").read_text()
    assert f"KEY_ID={key_id}" in env
    assert f"WALLET_ADDRESS_URL={again.url}/paguito" in env


@pytest.mark.browser
def test_reject_in_chromium_goes_back_with_grant_rejected(op: PyClient, page: Page, artifacts_dir):
    finish = {"method": "redirect", "uri": "http://127.0.0.1:9/finish", "nonce": "n"}
    limits = {"debitAmount": {"value": "1234", "assetCode": "USD", "assetScale": 2}}
    pending = op.pending_grant(limits, finish=finish)
    landed: list[str] = []

    def capture(route) -> None:
        landed.append(route.request.url)
        route.fulfill(
            status=200, body="<h1 id='back'>back at the app</h1>", content_type="text/html"
        )

    page.route("http://127.0.0.1:9/**", capture)
    page.goto(pending["interact"]["redirect"])
    expect(page.get_by_test_id("debit")).to_have_text("12.34 USD")
    page.get_by_test_id("reject").click()
    expect(page.locator("#back")).to_be_visible()
    assert landed == ["http://127.0.0.1:9/finish?result=grant_rejected"]
    page.goto(pending["interact"]["redirect"])
    expect(page.get_by_test_id("message-title")).to_have_text("Already answered")
    page.screenshot(path=str(artifacts_dir / "already-answered.png"))
