"""A link outlives its access token: an expired token is rotated through its manage URL (the
new one stored, sealed, in the link) and one-tap payments go on, the link still active."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.op_api.harness import OpApi, Wallet, running_wallet
from tests.op_api.test_links import authorize, linked, one_tap, settled_or_asking

Start = Callable[..., OpApi]
TOKEN_TTL = 4


@pytest.fixture(scope="module")
def wallet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wallet]:
    """A wallet whose access tokens expire after TOKEN_TTL seconds."""
    yield from running_wallet(tmp_path_factory, "short-token-wallet", "--token-ttl", str(TOKEN_TTL))


def test_an_expired_link_token_is_rotated_and_the_link_stays_active(
    wallet: Wallet, op_api: Start
) -> None:
    api = op_api()
    link = linked(api, wallet, "alice", allowance={"amount": "30", "interval": "P1W"})
    alice = wallet.balance("alice")
    for amount in ("2.00", "3.00"):
        time.sleep(TOKEN_TTL)  # the link's token has expired by now
        payment = one_tap(api, wallet, link, amount)
        final = settled_or_asking(api, authorize(api, payment["paymentId"])["paymentId"])
        assert final["status"] == "completed", final
    rotations = [
        e
        for e in wallet.exchanges()
        if e["method"] == "POST" and e["path"].startswith("/auth/token/") and e["status"] == 200
    ]
    assert len(rotations) >= 2
    assert wallet.balance("alice") == alice - 500
    view = api.http.get(f"/links/{link['linkId']}").json()
    assert view["status"] == "active"
    assert view["spent"]["value"] == "5.00"


def test_a_wallet_failing_the_rotation_delays_the_payment_and_revokes_nothing(
    wallet: Wallet, op_api: Start
) -> None:
    api = op_api()
    link = linked(api, wallet, "alice", allowance={"amount": "30", "interval": "P1W"})
    time.sleep(TOKEN_TTL)  # the link's token has expired by now
    fault = {"scope": "auth", "mode": "error", "status": 503, "method": "POST", "count": 1}
    assert (
        wallet.admin("POST", "/faults", json={**fault, "path": "/auth/token/"}).status_code == 201
    )
    try:
        payment = one_tap(api, wallet, link, "1.00")
        final = settled_or_asking(api, authorize(api, payment["paymentId"])["paymentId"])
    finally:
        wallet.admin("DELETE", "/faults")
    assert final["status"] == "completed", final
    rotations = [e for e in wallet.exchanges() if e["path"].startswith("/auth/token/")]
    assert [e["status"] for e in rotations[-2:]] == [503, 200]  # refused once, then rotated
    assert len(wallet.outgoing_posts(payment["paymentId"])) == 1
    assert api.http.get(f"/links/{link['linkId']}").json()["status"] == "active"


def test_concurrent_payments_rotate_an_expired_token_once(wallet: Wallet, op_api: Start) -> None:
    """A second rotation of the same token would be refused, and read as a revocation: the
    rotation is claimed, the others wait for its token."""
    api = op_api()
    link = linked(api, wallet, "alice", allowance={"amount": "30", "interval": "P1W"})
    payments = [one_tap(api, wallet, link, "1.00") for _ in range(4)]
    time.sleep(TOKEN_TTL)  # the link's token has expired by now
    seen = len(wallet.exchanges())
    with ThreadPoolExecutor(max_workers=len(payments)) as pool:
        list(pool.map(lambda p: authorize(api, p["paymentId"]), payments))
    for payment in payments:
        assert settled_or_asking(api, payment["paymentId"])["status"] == "completed"
    rotations = [
        e
        for e in wallet.exchanges()[seen:]
        if e["method"] == "POST" and e["path"].startswith("/auth/token/")
    ]
    # Never the same token twice (the wallet would refuse it); once, unless it expired again.
    assert rotations
    assert all(e["status"] == 200 for e in rotations), [e["status"] for e in rotations]
    assert api.http.get(f"/links/{link['linkId']}").json()["status"] == "active"
