"""POST /send-batch against the sandbox wallet: several payments, one grant for their total
(one approval), each payment followed to its own result."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.op_api.harness import FINAL, OpApi, Wallet, running_wallet, wallet_env
from tests.support.processes import ServiceProcess, console_script, free_port

Start = Callable[..., OpApi]


@pytest.fixture(scope="module")
def short_quotes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wallet]:
    """A sandbox wallet whose quotes live 3 s: they expire before the user approves."""
    yield from running_wallet(tmp_path_factory, "wallet-short-quotes", "--quote-ttl", "3")


def _batch(api: OpApi, wallet: Wallet, *shares: tuple[str, str], **extra: Any) -> dict[str, Any]:
    body = {
        "senderWalletUrl": wallet.address("alice"),
        "payments": [{"receiverWalletUrl": r, "amount": a} for r, a in shares],
        **extra,
    }
    response = api.http.post("/send-batch", json=body)
    assert response.status_code == 201, response.text
    batch: dict[str, Any] = response.json()
    return batch


def _until_final(api: OpApi, batch: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
    """Follow every payment as the gateway does (/confirm-payment), then read the batch."""
    deadline = time.monotonic() + timeout
    ids = [p["paymentId"] for p in batch["payments"]]
    while time.monotonic() < deadline:
        if all(api.confirm(i)["status"] in FINAL for i in ids):
            break
        time.sleep(0.3)
    answer = api.http.get(f"/batches/{batch['batchId']}")
    assert answer.status_code == 200, answer.text
    view: dict[str, Any] = answer.json()
    return view


def _grant_requests(wallet: Wallet) -> list[dict[str, Any]]:
    """The outgoing-payment grants op_api asked the wallet for."""
    found = []
    for e in wallet.exchanges():
        if e["method"] == "POST" and "outgoing-payment" in (e.get("request_body") or ""):
            body = json.loads(e["request_body"])
            if "interact" in body:
                found.append(body)
    return found


def _minor(money: dict[str, Any]) -> int:
    return int(Decimal(money["value"]) * 10 ** money["assetScale"])


def test_two_payments_one_approval(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    bob, dave = wallet.add_wallet("bob_b1", "0"), wallet.add_wallet("dave_b1", "0")
    alice = wallet.balance("alice")
    asked_before = len(_grant_requests(wallet))
    batch = _batch(api, wallet, (bob, "20.00"), (dave, "10.00"), idempotencyKey="b1")
    assert batch["status"] == "awaiting_approval"
    assert batch["sharedGrant"] is True
    assert batch["debitAmount"] == {"value": "30.00", "assetCode": "USD", "assetScale": 2}
    assert [p["receiverWalletUrl"] for p in batch["payments"]] == [bob, dave]
    assert {p["confirmationUrl"] for p in batch["payments"]} == {batch["confirmationUrl"]}
    # One grant at the wallet: the total, for no particular receiver.
    grants = _grant_requests(wallet)[asked_before:]
    assert len(grants) == 1, grants
    limits = grants[0]["access_token"]["access"][0]["limits"]
    assert limits == {"debitAmount": {"value": "3000", "assetCode": "USD", "assetScale": 2}}
    # The same key answers the same batch; another body under it is refused.
    again = api.http.post(
        "/send-batch",
        json={
            "senderWalletUrl": wallet.address("alice"),
            "payments": [
                {"receiverWalletUrl": bob, "amount": "20.00"},
                {"receiverWalletUrl": dave, "amount": "10.00"},
            ],
            "idempotencyKey": "b1",
        },
    )
    assert again.status_code == 200
    assert again.json()["batchId"] == batch["batchId"]
    other = {
        "senderWalletUrl": wallet.address("alice"),
        "payments": [{"receiverWalletUrl": bob, "amount": "5.00"}],
        "idempotencyKey": "b1",
    }
    assert api.http.post("/send-batch", json=other).status_code == 409
    assert wallet.answer(batch["confirmationUrl"]).status_code == 200
    final = _until_final(api, batch)
    assert final["status"] == "completed", final
    assert [p["status"] for p in final["payments"]] == ["completed", "completed"]
    received = [_minor(p["receiveAmount"]) for p in batch["payments"]]
    assert wallet.balance("bob_b1") == received[0]
    assert wallet.balance("dave_b1") == received[1]
    assert wallet.balance("alice") == alice - 3000


def test_one_payment_refused_the_other_still_goes(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    bob, dave = wallet.add_wallet("bob_b2", "0"), wallet.add_wallet("dave_b2", "0")
    alice = wallet.balance("alice")
    batch = _batch(api, wallet, (bob, "3.00"), (dave, "4.00"))
    # The wallet refuses the first outgoing payment op_api creates (whichever it is).
    fault = {
        "scope": "resource",
        "mode": "error",
        "status": 400,
        "count": 1,
        "method": "POST",
        "path": "/outgoing-payments",
    }
    assert wallet.admin("POST", "/faults", json=fault).status_code == 201
    try:
        wallet.answer(batch["confirmationUrl"])
        final = _until_final(api, batch)
    finally:
        wallet.admin("DELETE", "/faults")
    assert final["status"] == "partial", final
    paid = [p for p in final["payments"] if p["status"] == "completed"]
    failed = [p for p in final["payments"] if p["status"] == "failed"]
    assert len(paid) == 1, final
    assert len(failed) == 1, final
    assert "outgoing payment refused" in failed[0]["failureReason"]
    assert wallet.balance("alice") == alice - _minor(paid[0]["debitAmount"])
    # Nothing is left open at the receiver of the failed one.
    assert wallet.pending_incoming(failed[0]["receiverWalletUrl"].rsplit("/", 1)[1]) == 0


def test_rejection_ends_every_payment(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    bob, dave = wallet.add_wallet("bob_b3", "0"), wallet.add_wallet("dave_b3", "0")
    alice = wallet.balance("alice")
    batch = _batch(api, wallet, (bob, "1.00"), (dave, "2.00"))
    assert wallet.answer(batch["confirmationUrl"], "reject").status_code == 200
    final = _until_final(api, batch)
    assert final["status"] == "rejected", final
    assert [p["status"] for p in final["payments"]] == ["rejected", "rejected"]
    assert wallet.balance("alice") == alice
    assert wallet.pending_incoming("bob_b3") == wallet.pending_incoming("dave_b3") == 0


def test_cancelling_a_batch_cancels_its_grant(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    bob, dave = wallet.add_wallet("bob_b4", "0"), wallet.add_wallet("dave_b4", "0")
    batch = _batch(api, wallet, (bob, "1.00"), (dave, "2.00"))
    answer = api.http.delete(f"/batches/{batch['batchId']}")
    assert answer.status_code == 200, answer.text
    assert [p["status"] for p in answer.json()["payments"]] == ["failed", "failed"]
    assert answer.json()["status"] == "failed"
    assert wallet.answer(batch["confirmationUrl"]).status_code in {404, 409}


def test_expiry_ends_every_payment(wallet: Wallet, op_api: Start) -> None:
    api = op_api(PAYMENT_EXPIRY_SECONDS="2")
    bob, dave = wallet.add_wallet("bob_b5", "0"), wallet.add_wallet("dave_b5", "0")
    batch = _batch(api, wallet, (bob, "1.00"), (dave, "2.00"))
    time.sleep(3.5)  # nobody polls: the background sweep expires the batch
    view = api.http.get(f"/batches/{batch['batchId']}").json()
    assert [p["status"] for p in view["payments"]] == ["expired", "expired"], view
    assert view["status"] == "expired"


def test_a_receiver_that_cannot_be_paid_refuses_the_batch_by_name(
    wallet: Wallet, op_api: Start
) -> None:
    api = op_api()
    bob = wallet.add_wallet("bob_b6", "0")
    alice = wallet.address("alice")
    body = {
        "senderWalletUrl": alice,
        "payments": [
            {"receiverWalletUrl": bob, "amount": "1.00"},
            {"receiverWalletUrl": alice, "amount": "2.00"},
        ],
    }
    answer = api.http.post("/send-batch", json=body)
    assert answer.status_code == 422
    assert "payments[1]" in answer.text
    assert "same wallet" in answer.text
    # The other payment's incoming payment was closed again.
    assert wallet.pending_incoming("bob_b6") == 0


def test_a_wallet_refusing_the_total_grant_gets_one_grant_each(
    wallet: Wallet, op_api: Start
) -> None:
    api = op_api()
    bob, dave = wallet.add_wallet("bob_b7", "0"), wallet.add_wallet("dave_b7", "0")
    warm = _batch(api, wallet, (bob, "1.00"), (dave, "1.00"))  # the shared grants, cached
    api.http.delete(f"/batches/{warm['batchId']}")
    # The next grant request (the one for the total) is refused.
    fault = {"scope": "auth", "mode": "error", "status": 400, "count": 1, "method": "POST"}
    assert wallet.admin("POST", "/faults", json=fault).status_code == 201
    try:
        batch = _batch(api, wallet, (bob, "2.00"), (dave, "3.00"))
    finally:
        wallet.admin("DELETE", "/faults")
    assert batch["sharedGrant"] is False
    assert batch["confirmationUrl"] is None
    links = [p["confirmationUrl"] for p in batch["payments"]]
    assert len(set(links)) == 2
    for link in links:
        assert wallet.answer(link).status_code == 200
    final = _until_final(api, batch)
    assert final["status"] == "completed", final


def _created(wallet: Wallet, payment_id: str) -> int:
    """How many outgoing payments the wallet created for one payment."""
    return len(
        [
            e
            for e in wallet.exchanges()
            if e["path"] == "/outgoing-payments"
            and e["method"] == "POST"
            and e["status"] == 201
            and payment_id in e["request_body"]
        ]
    )


def test_crash_while_the_outgoing_payments_are_being_created(
    wallet: Wallet, op_api: Start, tmp_path: Path
) -> None:
    """op_api dies with both POSTs in flight (the wallet still processes them): after a restart
    each payment completes, found again by its externalRef, and each is paid exactly once."""
    data, env = tmp_path / "crash-data", {"CLAIM_STALE_SECONDS": "2"}
    first = op_api(data_dir=data, **env)
    bob, dave = wallet.add_wallet("bob_b8", "0"), wallet.add_wallet("dave_b8", "0")
    alice = wallet.balance("alice")
    batch = _batch(first, wallet, (bob, "2.10"), (dave, "1.30"))
    fault = {"scope": "resource", "mode": "hang", "seconds": 4, "count": 2, "method": "POST"}
    assert wallet.admin("POST", "/faults", json=fault).status_code == 201
    wallet.answer(batch["confirmationUrl"])
    ids = [p["paymentId"] for p in batch["payments"]]
    deadline = time.monotonic() + 10
    # Read, not /confirm-payment: that would wait on the hung POSTs and, once their claims are
    # CLAIM_STALE_SECONDS old, retry them before the crash.
    while (seen := [first.get(i) for i in ids]) and {v["status"] for v in seen} != {"approved"}:
        assert time.monotonic() < deadline, seen
        time.sleep(0.1)
    time.sleep(0.5)  # both POSTs now in flight
    first.proc.kill()
    wallet.admin("DELETE", "/faults")
    second = op_api(data_dir=data, **env)
    final = _until_final(second, batch, timeout=40)
    assert final["status"] == "completed", final
    time.sleep(4)  # let the hung requests finish at the wallet too
    assert wallet.balance("alice") == alice - 340
    assert [_created(wallet, i) for i in ids] == [1, 1]


def test_expired_quotes_are_renewed_within_the_grant(
    short_quotes: Wallet, spawn: Callable[..., ServiceProcess], tmp_path: Path
) -> None:
    wallet, port = short_quotes, free_port()
    env = {**wallet_env(wallet), "DATA_DIR": str(tmp_path / "op"), "WORKER_INTERVAL_SECONDS": "0.3"}
    api = OpApi(spawn(f"op_api-{port}", [console_script("op-api")], env, port=port))
    bob, dave = wallet.add_wallet("bob_q", "0"), wallet.add_wallet("dave_q", "0")
    alice = wallet.balance("alice")
    batch = _batch(api, wallet, (bob, "5.00"), (dave, "6.00"))
    time.sleep(3.5)  # both quotes expired
    wallet.answer(batch["confirmationUrl"])
    final = _until_final(api, batch)
    assert final["status"] == "completed", final
    assert wallet.balance("alice") == alice - 1100
    quotes = [e for e in wallet.exchanges() if e["path"] == "/quotes" and e["status"] == 201]
    assert len(quotes) == 4  # two at the start, one renewal each


def test_internal_token_unknown_batches_and_bad_input(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    anonymous = httpx.Client(base_url=api.url)
    for method, path in [("POST", "/send-batch"), ("GET", "/batches/x"), ("DELETE", "/batches/x")]:
        assert anonymous.request(method, path, json={}).status_code == 401
    assert api.http.get("/batches/unknown").status_code == 404
    assert api.http.delete("/batches/unknown").status_code == 404
    share = {"receiverWalletUrl": wallet.address("bob"), "amount": "1.00"}
    for payments in ([], [share] * 11, [{**share, "amount": "-1"}], [{**share, "extra": 1}]):
        body = {"senderWalletUrl": wallet.address("alice"), "payments": payments}
        assert api.http.post("/send-batch", json=body).status_code == 422, payments


def test_finish_redirect_mode_one_return_pays_both(wallet: Wallet, op_api: Start) -> None:
    """With PUBLIC_URL the wallet sends the browser back to the lead payment's finish route;
    that one return approves the whole batch."""
    port = free_port()
    api = op_api(port=port, PUBLIC_URL=f"http://127.0.0.1:{port}")
    bob, dave = wallet.add_wallet("bob_b9", "0"), wallet.add_wallet("dave_b9", "0")
    batch = _batch(api, wallet, (bob, "1.10"), (dave, "1.20"))
    lead = batch["payments"][0]["paymentId"]
    redirect = wallet.answer(batch["confirmationUrl"]).json()["redirect"]
    assert redirect.startswith(f"{api.url}/payments/{lead}/finish?")
    assert httpx.get(redirect, timeout=30).status_code in {200, 202}
    final = _until_final(api, batch)
    assert final["status"] == "completed", final
