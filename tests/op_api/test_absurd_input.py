"""Absurd amounts get a clear 422 (issue 14, item 7): a 4,300-digit amount was a 500, "-5" was
not called negative, and nothing capped one payment."""

from __future__ import annotations

from collections.abc import Callable

from tests.op_api.harness import OpApi, Wallet

Start = Callable[..., OpApi]


def test_absurd_and_negative_amounts_are_clear_422s(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    alice, bob = wallet.address("alice"), wallet.address("bob")
    cases = [
        ("9" * 4300, "more than 40 digits"),
        ("1" + "0" * 45 + ".00", "more than 40 digits"),
        ("-5", "cannot be negative"),
        ("-0.01", "cannot be negative"),
    ]
    for amount, message in cases:
        body = {"senderWalletUrl": alice, "receiverWalletUrl": bob, "amount": amount}
        response = api.http.post("/send-payment", json=body)
        assert response.status_code == 422, (amount[:20], response.text[:300])
        assert message in response.text, (amount[:20], response.text[:300])


def test_a_payment_above_the_maximum_is_refused(wallet: Wallet, op_api: Start) -> None:
    api = op_api(MAX_PAYMENT_AMOUNT="50")
    alice, bob = wallet.address("alice"), wallet.address("bob")
    refused = api.send(alice, bob, "50.01")
    assert refused.status_code == 422, refused.text
    assert "above the maximum of 50" in refused.json()["detail"]
    assert api.send(alice, bob, "50.00").status_code == 201
