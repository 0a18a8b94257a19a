"""The finish redirect against a wallet that makes clients wait (as Rafiki does): op_api waits
out the grant's `wait` instead of being refused `too_fast`, takes no rejection on the
redirect's word, and serves the route only in finish-redirect mode."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.op_api.harness import OpApi, Wallet, running_wallet
from tests.support.processes import free_port

Start = Callable[..., OpApi]
WAIT_SECONDS = 7


@pytest.fixture(scope="module")
def wallet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wallet]:
    """A wallet whose grants ask for WAIT_SECONDS between continuations."""
    yield from running_wallet(
        tmp_path_factory, "waiting-wallet", "--wait-seconds", str(WAIT_SECONDS)
    )


def _finish_mode(op_api: Start) -> OpApi:
    port = free_port()
    return op_api(port=port, PUBLIC_URL=f"http://127.0.0.1:{port}")


def test_an_early_approval_waits_out_the_grants_wait(wallet: Wallet, op_api: Start) -> None:
    """Deviation 2: the user approves before `wait` has passed. op_api does not continue early
    (Rafiki: 400 too_fast) nor hold the browser: the page says it is confirming and refreshes,
    and the grant is continued once the wait is over."""
    api = _finish_mode(op_api)
    seen = len(wallet.exchanges())
    payment = api.start(wallet.address("alice"), wallet.address("bob"), "2.10")
    redirect = wallet.answer(payment["confirmationUrl"]).json()["redirect"]
    page = httpx.get(redirect, timeout=30)
    assert page.status_code == 202, page.text
    assert "Confirming your approval" in page.text
    assert '<meta http-equiv="refresh"' in page.text
    final = api.until_final(payment["paymentId"], timeout=WAIT_SECONDS + 15)
    assert final["status"] == "completed", final
    continuations = [e for e in wallet.exchanges()[seen:] if e["path"].startswith("/auth/continue")]
    assert [e["status"] for e in continuations] == [200]  # once, never too early
    assert httpx.get(redirect).status_code == 200  # the page's refresh now says it is done


def test_a_rejection_redirect_is_confirmed_with_the_wallet(wallet: Wallet, op_api: Start) -> None:
    """Issue 14: `?result=grant_rejected` carries no proof. The payment is marked rejected
    only once the wallet has cancelled the grant, so the two never disagree."""
    api = _finish_mode(op_api)
    payment = api.start(wallet.address("alice"), wallet.address("bob"), "2.20")
    finish = f"{api.url}/payments/{payment['paymentId']}/finish?result=grant_rejected"
    fault = {"scope": "auth", "mode": "error", "status": 503, "method": "DELETE", "count": 20}
    assert wallet.admin("POST", "/faults", json=fault).status_code == 201
    try:
        unconfirmed = httpx.get(finish)
    finally:
        wallet.admin("DELETE", "/faults")
    assert unconfirmed.status_code == 502
    assert api.get(payment["paymentId"])["status"] == "awaiting_approval"
    assert httpx.get(finish).status_code == 200
    assert api.get(payment["paymentId"])["status"] == "rejected"
    # The wallet agrees: the grant can no longer be approved.
    assert wallet.answer(payment["confirmationUrl"]).status_code in {404, 409}


def test_the_finish_route_is_off_without_public_url(wallet: Wallet, op_api: Start) -> None:
    """Issue 14: in polling mode no grant redirects to op_api, so the route answers 404."""
    api = op_api()
    payment = api.start(wallet.address("alice"), wallet.address("bob"), "2.30")
    finish = f"{api.url}/payments/{payment['paymentId']}/finish?result=grant_rejected"
    assert httpx.get(finish).status_code == 404
    time.sleep(0.5)
    assert api.get(payment["paymentId"])["status"] == "awaiting_approval"
