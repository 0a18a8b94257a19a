"""op_api against the sandbox wallet over real HTTP: every path a payment can take."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

from tests.op_api.harness import OpApi, Wallet

Start = Callable[..., OpApi]


def test_complete_flow_moves_exactly_the_quoted_amounts(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    alice, bob = wallet.balance("alice"), wallet.balance("bob")
    payment = api.start(
        wallet.address("alice"), wallet.address("bob"), "20.00", idempotencyKey="c1"
    )
    assert payment["status"] == "awaiting_approval"
    assert payment["debitAmount"] == {"value": "20.00", "assetCode": "USD", "assetScale": 2}
    assert payment["receiveAmount"]["assetCode"] == "USD"
    assert payment["confirmationUrl"].startswith(wallet.url)
    assert payment["receiverName"] == "Bob"
    # Before approval the grant is pending: confirm answers at once and stays put.
    assert api.confirm(payment["paymentId"])["status"] == "awaiting_approval"
    assert wallet.answer(payment["confirmationUrl"]).status_code == 200
    final = api.until_final(payment["paymentId"])
    assert final["status"] == "completed", final
    receive = Decimal(payment["receiveAmount"]["value"])
    assert wallet.balance("alice") == alice - 2000
    assert wallet.balance("bob") == bob + int(receive * 100)
    assert Decimal(final["fee"]["value"]) == Decimal("20.00") - receive
    metrics = api.http.get("/metrics").text
    assert 'paguito_op_payment_transitions_total{status="completed"} 1.0' in metrics
    assert "paguito_op_initiation_seconds_count 1.0" in metrics


def test_rejection(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    alice = wallet.balance("alice")
    payment = api.start(wallet.address("alice"), wallet.address("bob"), "5.00")
    assert wallet.answer(payment["confirmationUrl"], "reject").status_code == 200
    final = api.until_final(payment["paymentId"])
    assert final["status"] == "rejected"
    assert wallet.balance("alice") == alice


def test_expiry_cancels_the_grant(wallet: Wallet, op_api: Start) -> None:
    api = op_api(PAYMENT_EXPIRY_SECONDS="2")
    payment = api.start(wallet.address("alice"), wallet.address("bob"), "1.00")
    time.sleep(3)
    # The background sweep expired it without anyone polling.
    assert api.get(payment["paymentId"])["status"] == "expired"
    # The grant was cancelled at the wallet: the consent can no longer be given.
    assert wallet.answer(payment["confirmationUrl"]).status_code in {404, 409}
    assert api.confirm(payment["paymentId"])["status"] == "expired"


def test_approval_just_before_expiry_still_pays(wallet: Wallet, op_api: Start) -> None:
    """Nobody polled after the user approved: the expiry sweep looks once more and pays."""
    api = op_api(PAYMENT_EXPIRY_SECONDS="2")
    payment = api.start(wallet.address("alice"), wallet.address("bob"), "1.50")
    wallet.answer(payment["confirmationUrl"])
    time.sleep(3)
    assert api.until_final(payment["paymentId"])["status"] == "completed"


def test_cancellation(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    payment = api.start(wallet.address("alice"), wallet.address("bob"), "2.00")
    response = api.http.delete(f"/payments/{payment['paymentId']}")
    assert response.status_code == 200
    assert response.json()["status"] == "failed"
    assert response.json()["failureReason"] == "cancelled"
    assert wallet.answer(payment["confirmationUrl"]).status_code in {404, 409}
    assert api.confirm(payment["paymentId"])["status"] == "failed"


def test_cross_currency_usd_to_mxn(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    carol = wallet.balance("carol")
    payment = api.start(wallet.address("alice"), wallet.address("carol"), "10.00")
    assert payment["debitAmount"]["assetCode"] == "USD"
    assert payment["receiveAmount"]["assetCode"] == "MXN"
    assert Decimal(payment["receiveAmount"]["value"]) > Decimal("10.00")
    assert payment["fee"] is None  # not comparable across assets
    wallet.answer(payment["confirmationUrl"])
    final = api.until_final(payment["paymentId"])
    assert final["status"] == "completed", final
    received = int(Decimal(payment["receiveAmount"]["value"]) * 100)
    assert wallet.balance("carol") == carol + received


def test_amount_in_the_receivers_currency(wallet: Wallet, op_api: Start) -> None:
    """ "Send Carol 200 pesos": the receiver gets exactly 200 MXN; the sender pays the quote."""
    api = op_api()
    carol, alice = wallet.balance("carol"), wallet.balance("alice")
    payment = api.start(wallet.address("alice"), wallet.address("carol"), "200", assetCode="MXN")
    assert payment["receiveAmount"] == {"value": "200.00", "assetCode": "MXN", "assetScale": 2}
    assert payment["debitAmount"]["assetCode"] == "USD"
    wallet.answer(payment["confirmationUrl"])
    assert api.until_final(payment["paymentId"])["status"] == "completed"
    assert wallet.balance("carol") == carol + 20000
    assert wallet.balance("alice") == alice - int(Decimal(payment["debitAmount"]["value"]) * 100)


def test_insufficient_funds(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    poor = wallet.add_wallet("poor", "1.00")
    response = api.send(poor, wallet.address("bob"), "20.00")
    if response.status_code == 422:
        # Refused up front by the wallet: a clear 4xx naming the problem.
        assert "insufficient" in response.text.lower()
        return
    payment = response.json()
    wallet.answer(payment["confirmationUrl"])
    final = api.until_final(payment["paymentId"])
    assert final["status"] == "failed"
    # Open Payments carries no failure reason; op_api says what it can infer.
    assert "insufficient funds" in final["failureReason"]
    assert wallet.balance("poor") == 100
    # The sandbox (admin view) confirms why it failed.
    failed = [
        e for e in wallet.exchanges() if e["method"] == "POST" and e["path"] == "/outgoing-payments"
    ]
    op_id = failed[-1]["response_body"].split('"id":"', 1)[1].split('"', 1)[0].rsplit("/", 1)[1]
    reason = wallet.admin("GET", f"/outgoing-payments/{op_id}").json()["failureReason"]
    assert "insufficient" in reason.lower()


def test_restart_between_approval_and_outgoing_payment(
    wallet: Wallet, op_api: Start, tmp_path
) -> None:
    data = tmp_path / "shared-data"
    first = op_api(data_dir=data)
    bob = wallet.balance("bob")
    payment = first.start(wallet.address("alice"), wallet.address("bob"), "3.00")
    wallet.answer(payment["confirmationUrl"])
    first.proc.kill()  # SIGKILL: no graceful shutdown
    # Killed before its runner reached the grant's `wait`: no outgoing payment yet. (What the
    # second process shows first depends on how long it took to start, so it is not asserted.)
    assert not wallet.outgoing_posts(payment["paymentId"])
    second = op_api(data_dir=data)
    final = second.until_final(payment["paymentId"])
    assert final["status"] == "completed", final
    assert len(wallet.outgoing_posts(payment["paymentId"])) == 1
    assert wallet.balance("bob") == bob + int(Decimal(payment["receiveAmount"]["value"]) * 100)


def test_crash_while_the_outgoing_payment_is_being_created(
    wallet: Wallet, op_api: Start, tmp_path
) -> None:
    """op_api dies with the POST in flight (the wallet still processes it): after a restart
    the payment completes, and the sender is debited exactly once."""
    data = tmp_path / "crash-data"
    env = {"CLAIM_STALE_SECONDS": "2"}
    first = op_api(data_dir=data, **env)
    alice = wallet.balance("alice")
    payment = first.start(wallet.address("alice"), wallet.address("bob"), "2.60")
    # Hung before the approval: op_api's runner continues the grant by itself (at its `wait`)
    # and goes straight on to the outgoing payment.
    fault = {"scope": "resource", "mode": "hang", "seconds": 4}
    assert wallet.admin("POST", "/faults", json=fault).status_code == 201
    wallet.answer(payment["confirmationUrl"])
    time.sleep(1.1)
    assert first.confirm(payment["paymentId"])["status"] == "approved"  # POST now in flight
    first.proc.kill()
    wallet.admin("DELETE", "/faults")
    second = op_api(data_dir=data, **env)
    final = second.until_final(payment["paymentId"], timeout=30)
    assert final["status"] == "completed", final
    time.sleep(4)  # let the hung request finish at the wallet too
    assert wallet.balance("alice") == alice - 260
    assert len(wallet.outgoing_posts(payment["paymentId"])) == 1
