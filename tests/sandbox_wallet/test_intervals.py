"""Interval limits as Rafiki applies them: one grant, an allowance per interval, renewed."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.sandbox_wallet.gnap import PyClient, error
from tests.sandbox_wallet.support import Wallet

STEP = 4  # seconds per interval: room for three payments, short enough to wait for the next


def _usd(value: str) -> dict[str, Any]:
    return {"value": value, "assetCode": "USD", "assetScale": 2}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _quotes(op: PyClient, count: int, value: str = "400") -> list[dict[str, Any]]:
    """Quotes for `count` fresh incoming payments at Bob; 4.00 USD arrive for 4.04 USD."""
    incoming_token, quote_token = op.incoming_token("bob"), op.quote_token()
    return [
        op.quote(quote_token, op.incoming(incoming_token, "bob", value=value)["id"])
        for _ in range(count)
    ]


def _into_next_interval(start: int) -> None:
    """Sleep until just after the next interval boundary, so what follows has a whole interval."""
    time.sleep(STEP - (time.time() - start) % STEP + 0.05)


def _spent(op: PyClient, wallet: Wallet, token: str, field: str = "spentDebitAmount") -> Any:
    response = op.request("GET", f"{wallet.url}/outgoing-payment-grant", token=token)
    assert response.status_code == 200, response.text
    return response.json()[field]


def _refused(response: httpx.Response) -> bool:
    description = str(response.json()["error"]["description"])
    return response.status_code == 403 and description.startswith("Insufficient Grant")


def test_allowance_is_counted_per_interval_and_renews(op: PyClient, shared_wallet: Wallet):
    start = int(time.time()) - 1
    limits = {"debitAmount": _usd("1000"), "interval": f"R/{_iso(start)}/PT{STEP}S"}
    token = op.approved_token(limits)["value"]
    assert _spent(op, shared_wallet, token) is None  # Rafiki: null before the first payment
    quotes = _quotes(op, 3)
    assert [q["debitAmount"]["value"] for q in quotes] == ["404"] * 3

    _into_next_interval(start)
    first, second, third = (op.pay(token, q) for q in quotes)
    assert (first.status_code, second.status_code) == (201, 201), second.text
    # Like Rafiki: what the grant had spent in this interval before the payment.
    assert first.json()["grantSpentDebitAmount"]["value"] == "0"
    assert second.json()["grantSpentDebitAmount"]["value"] == "404"
    assert _refused(third), third.text  # 404 + 404 + 404 > 1000
    assert _spent(op, shared_wallet, token)["value"] == "808"
    # Like Rafiki, the receive side too, though only the debit is limited.
    assert _spent(op, shared_wallet, token, "spentReceiveAmount") == _usd("800")
    listed = shared_wallet.admin("GET", "/grants?wallet=alice")["grants"]
    mine = [g for g in listed if g["limits"] == limits]
    assert [g["spentDebit"] for g in mine] == ["808"]

    _into_next_interval(start)
    assert _spent(op, shared_wallet, token)["value"] == "0"  # a fresh interval
    again = op.pay(token, quotes[2])  # the refused quote was not used up
    assert again.status_code == 201, again.text
    assert again.json()["grantSpentDebitAmount"]["value"] == "0"


def test_a_payment_alone_above_the_allowance_is_refused(op: PyClient):
    limits = {"debitAmount": _usd("300"), "interval": "R/2026-01-01T00:00:00Z/P1W"}
    token = op.approved_token(limits)["value"]
    assert _refused(op.pay(token, _quotes(op, 1)[0]))


def test_no_interval_holds_now_before_the_start_or_after_the_last(op: PyClient, shared_wallet):
    quotes = _quotes(op, 2)
    future = {"debitAmount": _usd("1000"), "interval": "R/2999-01-01T00:00:00Z/P1M"}
    ended = {"debitAmount": _usd("1000"), "interval": "R2/2026-01-01T00:00:00Z/P1D"}
    for limits, quote in ((future, quotes[0]), (ended, quotes[1])):
        token = op.approved_token(limits)["value"]
        assert _refused(op.pay(token, quote))
        assert _spent(op, shared_wallet, token) is None


def test_intervals_rafiki_could_not_place_a_payment_in_are_refused_at_request(op: PyClient):
    for interval in (
        "P1W",
        "R/2026-12-01T00:00:00Z",
        "R/2026-12-01T00:00:00Z/P0D",
        "R/2026-12-01T00:00:00Z/PT",
        "Rx/2026-12-01T00:00:00Z/P1W",
        "R/yesterday/P1W",
        "R/2026-12-01T00:00:00Z/2026-11-01T00:00:00Z",
    ):
        limits = {"debitAmount": _usd("1000"), "interval": interval}
        access = [
            {
                "type": "outgoing-payment",
                "actions": ["create", "read"],
                "identifier": op.w.wallet("alice"),
                "limits": limits,
            }
        ]
        response = op.grant_request(access, interact={"start": ["redirect"]})
        assert error(response) == (400, "invalid_request"), interval
    for interval in ("R12/2019-08-24T14:15:22Z/P1M", "R-1/P1Y2M10DT2H30M/2022-05-11T15:30:00Z"):
        pending = op.pending_grant({"debitAmount": _usd("1"), "interval": interval})
        assert "interact" in pending, interval


def test_a_grant_without_create_links_the_wallet_but_cannot_spend(
    op: PyClient, shared_wallet: Wallet
):
    pending = op.pending_grant(None, actions=("read", "list"))
    assert "redirect" in pending["interact"]  # outgoing-payment grants are always interactive
    op.decide(pending)
    time.sleep(pending["continue"]["wait"] + 0.05)
    token = op.continue_grant(pending).json()["access_token"]["value"]
    alice = shared_wallet.wallet("alice")
    listed = op.request(
        "GET", f"{shared_wallet.url}/outgoing-payments?wallet-address={alice}", token=token
    )
    assert listed.status_code == 200, listed.text
    refused = op.pay(token, _quotes(op, 1)[0])
    assert (refused.status_code, refused.json()["error"]["description"]) == (
        403,
        "Insufficient Grant",
    )


def test_revoked_by_the_owner_the_token_is_inactive(op: PyClient, shared_wallet: Wallet):
    limits = {"debitAmount": _usd("1000"), "interval": "R/2026-01-01T00:00:00Z/P1W"}
    issued = op.approved_token(limits)
    quotes = _quotes(op, 2)
    assert op.pay(issued["value"], quotes[0]).status_code == 201
    grant_id = next(
        g["id"]
        for g in shared_wallet.admin("GET", "/grants?wallet=alice")["grants"]
        if g["limits"] == limits
    )
    assert shared_wallet.admin("POST", f"/grants/{grant_id}/revoke") == {"revoked": grant_id}
    refused = op.pay(issued["value"], quotes[1])
    assert (refused.status_code, refused.json()["error"]["description"]) == (
        403,
        "Inactive Token",
    )
    rotate = op.request("POST", issued["manage"], token=issued["value"])
    assert rotate.status_code in (401, 404), rotate.text
    again = httpx.post(f"{shared_wallet.url}/admin/grants/{grant_id}/revoke", timeout=10)
    assert again.status_code == 404
    listed = shared_wallet.admin("GET", "/grants?wallet=alice")["grants"]
    assert grant_id not in {g["id"] for g in listed}


def test_revoked_before_the_client_continues_no_token_comes(op: PyClient, shared_wallet: Wallet):
    limits = {"debitAmount": _usd("900"), "interval": "R/2026-01-01T00:00:00Z/P1W"}
    pending = op.pending_grant(limits)
    op.decide(pending)
    grant_id = next(
        g["id"]
        for g in shared_wallet.admin("GET", "/grants?wallet=alice")["grants"]
        if g["limits"] == limits
    )
    shared_wallet.admin("POST", f"/grants/{grant_id}/revoke")
    time.sleep(pending["continue"]["wait"] + 0.05)
    assert error(op.continue_grant(pending)) == (401, "request_denied")
