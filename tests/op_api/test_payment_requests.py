"""Money requests against the sandbox wallet: an incoming payment at the requester's wallet for
exactly the amount, paid through /send-payment with `incomingPaymentUrl` (the usual quote and
consent), declined, expired, and refused when it cannot be paid."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.op_api.harness import OpApi, Wallet


def _ask(op: OpApi, requester: str, amount: str, **extra: Any) -> dict[str, Any]:
    body = {"requesterWalletUrl": requester, "amount": amount, **extra}
    response = op.http.post("/payment-requests", json=body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _state(op: OpApi, request_id: str) -> dict[str, Any]:
    response = op.http.get(f"/payment-requests/{request_id}")
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _pay(op: OpApi, payer: str, asker: str, amount: str, request: dict[str, Any]) -> Any:
    """Start paying a request (fixed receive of its amount, its incoming payment)."""
    return op.start(
        payer,
        asker,
        amount,
        amountType="receive",
        assetCode="USD",
        incomingPaymentUrl=request["incomingPaymentUrl"],
    )


def test_a_request_paid_by_another_wallet(wallet: Wallet, op_api: Callable[..., OpApi]) -> None:
    op = op_api()
    asker = wallet.add_wallet("req_asker", "0")
    payer = wallet.add_wallet("req_payer", "100.00")
    request = _ask(op, asker, "12.34", description="Paguito: dinner")
    # A first attempt the payer rejects at their wallet leaves the request open.
    rejected = _pay(op, payer, asker, "12.34", request)
    assert wallet.answer(rejected["confirmationUrl"], "reject").status_code == 200
    assert op.until_final(rejected["paymentId"])["status"] == "rejected"
    assert request["status"] == "pending"
    assert request["amount"] == {"value": "12.34", "assetCode": "USD", "assetScale": 2}
    assert request["description"] == "Paguito: dinner"
    assert request["incomingPaymentUrl"].startswith(wallet.url)
    assert _state(op, request["requestId"])["status"] == "pending"

    payment = _pay(op, payer, asker, "12.34", request)
    assert payment["receiveAmount"]["value"] == "12.34"
    assert wallet.answer(payment["confirmationUrl"], "approve").status_code == 200
    assert op.until_final(payment["paymentId"])["status"] == "completed"
    assert wallet.balance("req_asker") == 1234
    debit = int(payment["debitAmount"]["value"].replace(".", ""))
    assert wallet.balance("req_payer") == 10000 - debit
    assert _state(op, request["requestId"])["status"] == "paid"
    # Paid once: it cannot be paid again, nor declined.
    again = op.send(payer, asker, "12.34", incomingPaymentUrl=request["incomingPaymentUrl"])
    assert again.status_code == 422
    assert "paid" in again.json()["detail"]
    assert op.http.delete(f"/payment-requests/{request['requestId']}").status_code == 409


def test_declined_and_expired_requests_cannot_be_paid(
    wallet: Wallet, op_api: Callable[..., OpApi]
) -> None:
    op = op_api()
    asker = wallet.add_wallet("req_asker2", "0")
    payer = wallet.add_wallet("req_payer2", "100.00")
    declined = _ask(op, asker, "5")
    response = op.http.delete(f"/payment-requests/{declined['requestId']}")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "declined"
    refused = op.send(payer, asker, "5", incomingPaymentUrl=declined["incomingPaymentUrl"])
    assert refused.status_code == 422
    assert "declined" in refused.json()["detail"]

    soon = _ask(op, asker, "5", expiresInSeconds=1)
    deadline = time.monotonic() + 15
    while _state(op, soon["requestId"])["status"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.3)
    assert _state(op, soon["requestId"])["status"] == "expired"
    assert wallet.balance("req_asker2") == 0


def test_bad_requests_get_clear_answers(wallet: Wallet, op_api: Callable[..., OpApi]) -> None:
    op = op_api()
    asker = wallet.add_wallet("req_asker3", "0")
    other = wallet.add_wallet("req_other3", "0")
    for body in (
        {"requesterWalletUrl": asker, "amount": "-5"},
        {"requesterWalletUrl": asker, "amount": "1.234"},
        {"requesterWalletUrl": "not a wallet", "amount": "5"},
    ):
        response = op.http.post("/payment-requests", json=body)
        assert response.status_code == 422, (body, response.text)
    assert op.http.get("/payment-requests/bm9wZQ").status_code == 404
    assert op.http.get("/payment-requests/!!!").status_code == 404
    # An incoming payment of one wallet is never paid as another's.
    request = _ask(op, asker, "5")
    payer = wallet.add_wallet("req_payer3", "100.00")
    wrong = op.send(payer, other, "5", incomingPaymentUrl=request["incomingPaymentUrl"])
    assert wrong.status_code == 422, wrong.text
    unauthenticated = op.http.get(
        f"/payment-requests/{request['requestId']}", headers={"Authorization": ""}
    )
    assert unauthenticated.status_code == 401
