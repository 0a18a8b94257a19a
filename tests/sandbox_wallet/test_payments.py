"""Quotes, grant limits and settlement move exact integer amounts, or fail cleanly."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.sandbox_wallet.gnap import PyClient
from tests.sandbox_wallet.support import Wallet, start_wallet


def _payment_state(wallet: Wallet, payment: dict[str, Any], timeout: float = 5) -> dict[str, Any]:
    payment_id = payment["id"].rsplit("/", 1)[1]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = wallet.admin("GET", f"/outgoing-payments/{payment_id}")
        if status["state"] != "sending":
            return dict(status)
        time.sleep(0.05)
    raise AssertionError("payment never settled")


def test_quotes_fixed_send_fixed_receive_and_cross_currency(op: PyClient, shared_wallet: Wallet):
    quote_token = op.quote_token()
    open_amount = op.incoming(op.incoming_token("bob"), "bob", value="100000")
    by_debit = op.quote(quote_token, open_amount["id"], debitAmount=_usd("1010"))
    assert (by_debit["debitAmount"]["value"], by_debit["receiveAmount"]["value"]) == (
        "1010",
        "1000",
    )
    by_receive = op.quote(quote_token, open_amount["id"], receiveAmount=_usd("1000"))
    assert by_receive["debitAmount"]["value"] == "1010"
    to_carol = op.incoming(op.incoming_token("carol"), "carol", value="17000", code="MXN")
    mxn = op.quote(quote_token, to_carol["id"])
    assert mxn["receiveAmount"] == {"value": "17000", "assetCode": "MXN", "assetScale": 2}
    assert mxn["debitAmount"] == _usd("1010")
    assert mxn["expiresAt"] > mxn["createdAt"]


def test_bad_quotes_are_400(op: PyClient, shared_wallet: Wallet):
    token = op.quote_token()
    receiver = op.incoming(op.incoming_token("bob"), "bob", value="1000")["id"]
    url = f"{shared_wallet.url}/quotes"
    base = {"walletAddress": shared_wallet.wallet("alice"), "receiver": receiver, "method": "ilp"}
    cases = [
        {**base, "debitAmount": _usd("100"), "receiveAmount": _usd("100")},
        {**base, "debitAmount": {"value": "100", "assetCode": "MXN", "assetScale": 2}},
        {**base, "debitAmount": {"value": "1.5", "assetCode": "USD", "assetScale": 2}},
        {**base, "receiveAmount": _usd("5000")},  # more than the incoming payment expects
        {**base, "receiver": f"{shared_wallet.url}/incoming-payments/nope"},
        {**base, "method": "card"},
    ]
    for body in cases:
        assert op.request("POST", url, body, token).status_code == 400, body


def test_grant_limit_is_never_exceeded(op: PyClient, shared_wallet: Wallet):
    quote_token = op.quote_token()
    incoming_token = op.incoming_token("bob")
    first = op.quote(quote_token, op.incoming(incoming_token, value="1000")["id"])
    second = op.quote(quote_token, op.incoming(incoming_token, value="1000")["id"])
    token = op.approved_token({"debitAmount": first["debitAmount"]})["value"]
    before = shared_wallet.balances()
    assert op.pay(token, first).status_code == 201
    refused = op.pay(token, second)
    assert refused.status_code == 403
    assert "limit" in refused.json()["error"]["description"]
    # A quote already paid cannot be paid twice.
    bigger = op.approved_token({"debitAmount": _usd("100000")})["value"]
    assert op.pay(bigger, first).status_code == 400  # Rafiki: "invalid quote"
    # A grant for one receiver cannot pay another.
    elsewhere = op.approved_token({"receiver": first["receiver"]})["value"]
    assert op.pay(elsewhere, second).status_code == 403
    time.sleep(0.5)
    after = shared_wallet.balances()
    assert before["alice"] - after["alice"] == int(first["debitAmount"]["value"])
    assert after["bob"] - before["bob"] == int(first["receiveAmount"]["value"])


def test_insufficient_funds_fails_the_payment_and_moves_nothing(
    op: PyClient, shared_wallet: Wallet
):
    shared_wallet.admin("POST", "/wallets", {"name": "dave", "assetCode": "USD", "balance": "1.00"})
    quote = op.quote(
        op.quote_token(), op.incoming(op.incoming_token("bob"), value="500")["id"], sender="dave"
    )
    token = op.approved_token({"debitAmount": quote["debitAmount"]}, sender="dave")["value"]
    before = shared_wallet.balances()
    created = op.pay(token, quote, sender="dave")
    assert created.status_code == 201
    status = _payment_state(shared_wallet, created.json())
    assert (status["state"], status["failureReason"]) == ("failed", "insufficient funds")
    payment = op.request("GET", created.json()["id"], token=token).json()
    assert payment["failed"] is True
    assert payment["sentAmount"]["value"] == "0"
    assert shared_wallet.balances() == before
    assert "insufficient funds" in httpx.get(f"{shared_wallet.url}/balances").text


def test_payment_from_incoming_payment_and_debit_amount(op: PyClient, shared_wallet: Wallet):
    incoming = op.incoming(op.incoming_token("carol"), "carol", value="17000", code="MXN")
    token = op.approved_token({"debitAmount": _usd("1010")})["value"]
    body = {
        "walletAddress": shared_wallet.wallet("alice"),
        "incomingPayment": incoming["id"],
        "debitAmount": _usd("1010"),
    }
    before = shared_wallet.balances()
    created = op.request("POST", f"{shared_wallet.url}/outgoing-payments", body, token)
    assert created.status_code == 201, created.text
    assert _payment_state(shared_wallet, created.json())["state"] == "completed"
    after = shared_wallet.balances()
    assert before["alice"] - after["alice"] == 1010
    assert after["carol"] - before["carol"] == 17000


def _usd(value: str) -> dict[str, Any]:
    return {"value": value, "assetCode": "USD", "assetScale": 2}


def test_concurrent_payments_cannot_share_one_limit(op: PyClient, shared_wallet: Wallet):
    from concurrent.futures import ThreadPoolExecutor

    quote_token, incoming_token = op.quote_token(), op.incoming_token("bob")
    quotes = [
        op.quote(quote_token, op.incoming(incoming_token, value="300")["id"]) for _ in range(5)
    ]
    token = op.approved_token({"debitAmount": quotes[0]["debitAmount"]})["value"]
    with ThreadPoolExecutor(5) as pool:
        statuses = sorted(pool.map(lambda q: op.pay(token, q).status_code, quotes))
    assert statuses == [201, 403, 403, 403, 403]


def test_completed_incoming_payment_takes_no_more_quotes(op: PyClient, shared_wallet: Wallet):
    token = op.incoming_token("bob")
    incoming = op.incoming(token, value="700")
    completed = op.request("POST", incoming["id"] + "/complete", token=token)
    assert completed.status_code == 200
    assert completed.json()["completed"] is True
    assert "methods" not in completed.json()
    read = op.request("GET", incoming["id"], token=token).json()
    assert (read["completed"], read["methods"]) == (True, [])
    body = {
        "walletAddress": shared_wallet.wallet("alice"),
        "receiver": incoming["id"],
        "method": "ilp",
    }
    assert (
        op.request("POST", f"{shared_wallet.url}/quotes", body, op.quote_token()).status_code == 400
    )


def test_expired_quote_cannot_be_paid(spawn, tmp_path):
    wallet = start_wallet(spawn, tmp_path, "--quote-ttl", "1")
    op = PyClient(wallet)
    quote = op.quote(op.quote_token(), op.incoming(op.incoming_token("bob"), value="100")["id"])
    token = op.approved_token({"debitAmount": quote["debitAmount"]})["value"]  # takes > 1 s
    refused = op.pay(token, quote)
    assert refused.status_code == 400
    assert "expired" in refused.json()["error"]["description"]
