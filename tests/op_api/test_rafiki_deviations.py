"""What a real Rafiki showed op_api getting wrong (issue 11), reproduced on the sandbox wallet,
which behaves as Rafiki does on each point. Slow settlement: test_rafiki_settlement.py; the
finish redirect: test_finish_redirect.py."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.op_api.harness import OpApi, Wallet

Start = Callable[..., OpApi]


def _revoke(wallet: Wallet, kind: str) -> int:
    body = {"client": wallet.address("paguito"), "type": kind}
    answer = wallet.admin("POST", "/grants/revoke", json=body)
    assert answer.status_code == 200, answer.text
    revoked: int = answer.json()["revoked"]
    return revoked


def test_a_revoked_shared_grant_is_replaced_not_fatal(wallet: Wallet, op_api: Start) -> None:
    """Deviation 1: the wallet revokes the shared incoming-payment and quote grants (a user's
    "revoke access"): their tokens answer 403 "Inactive Token". The next /send-payment gets
    fresh grants instead of failing until the cached tokens would have expired."""
    api = op_api()
    alice, bob = wallet.address("alice"), wallet.address("bob")
    first = api.start(alice, bob, "1.10")  # the shared grants are now cached
    assert _revoke(wallet, "incoming-payment") >= 1
    assert _revoke(wallet, "quote") >= 1
    seen = len(wallet.exchanges())
    second = api.send(alice, bob, "1.20")
    assert second.status_code == 201, second.text
    refused = {
        e["path"]
        for e in wallet.exchanges()[seen:]
        if e["status"] == 403 and "Inactive Token" in e["response_body"]
    }
    assert refused == {"/incoming-payments", "/quotes"}
    # The payment made before the revocation still completes (its tokens are renewed).
    wallet.answer(first["confirmationUrl"])
    assert api.until_final(first["paymentId"])["status"] == "completed"


def test_the_outgoing_payment_is_found_after_a_crash_mid_post(
    wallet: Wallet, op_api: Start, tmp_path
) -> None:
    """Deviation 3: op_api dies while the wallet creates the outgoing payment; the retry after
    the restart is refused (400 "invalid quote": the quote was used). op_api then finds its
    payment by listing the sender's outgoing payments (metadata `externalRef`), so it knows
    what was sent instead of only watching the receiver."""
    data = tmp_path / "crash-data"
    env = {"CLAIM_STALE_SECONDS": "3", "CONFIRM_BUDGET_SECONDS": "0.5"}
    first = op_api(data_dir=data, **env)
    payment = first.start(wallet.address("alice"), wallet.address("bob"), "2.70")
    # The wallet creates the payment at once but holds the answer: op_api dies waiting for it.
    # Installed before the approval: op_api continues the grant (and posts) on its own.
    fault = {"scope": "resource", "mode": "late", "seconds": 5, "method": "POST"}
    fault["path"] = "/outgoing-payments"
    assert wallet.admin("POST", "/faults", json=fault).status_code == 201
    wallet.answer(payment["confirmationUrl"])
    time.sleep(1.1)  # the continuation is due
    assert first.until_status(payment["paymentId"], "approved")["status"] == "approved"
    first.proc.kill()
    seen = len(wallet.exchanges())  # after the first POST: it is recorded before its answer
    second = op_api(data_dir=data, **env)
    final = second.until_final(payment["paymentId"], timeout=30)
    assert final["status"] == "completed", final
    later = wallet.exchanges()[seen:]
    assert any(
        e["method"] == "POST" and e["path"] == "/outgoing-payments" and e["status"] == 400
        for e in later
    ), "the retry was not refused: the crash did not happen mid-POST"
    assert any(e["method"] == "GET" and e["path"] == "/outgoing-payments" for e in later)
    assert final["sentAmount"] is not None
    assert final["sentAmount"]["value"] == final["receiveAmount"]["value"]  # sandbox: no fee


def test_payments_that_end_unpaid_leave_no_open_incoming_payment(
    wallet: Wallet, op_api: Start
) -> None:
    """Deviation 5: rejected, cancelled and failed-to-start payments complete their incoming
    payment at the receiver instead of leaving it pending until it expires."""
    api = op_api()
    alice, bob = wallet.address("alice"), wallet.address("bob")
    before = wallet.pending_incoming("bob")
    rejected = api.start(alice, bob, "1.30")
    wallet.answer(rejected["confirmationUrl"], "reject")
    assert api.until_final(rejected["paymentId"])["status"] == "rejected"
    cancelled = api.start(alice, bob, "1.40")
    assert api.http.delete(f"/payments/{cancelled['paymentId']}").status_code == 200
    fault = {"scope": "resource", "mode": "error", "status": 400, "method": "POST"}
    fault["path"] = "/quotes"
    wallet.admin("POST", "/faults", json=fault)
    refused = api.send(alice, bob, "1.50")  # the incoming payment exists, the quote fails
    assert refused.status_code == 422, refused.text
    assert wallet.pending_incoming("bob") == before


def test_a_retry_after_an_error_reuses_the_incoming_payment(wallet: Wallet, op_api: Start) -> None:
    """Deviation 5: a /send-payment retried (same idempotencyKey) after the wallet failed
    part-way reuses the incoming payment the first attempt created."""
    api = op_api()
    alice, bob = wallet.address("alice"), wallet.address("bob")
    before = wallet.pending_incoming("bob")
    seen = len(wallet.exchanges())
    fault = {"scope": "resource", "mode": "error", "status": 503, "method": "POST"}
    fault["path"] = "/quotes"
    wallet.admin("POST", "/faults", json=fault)
    failed = api.send(alice, bob, "1.60", idempotencyKey="retry-me")
    assert failed.status_code == 502, failed.text
    retried = api.send(alice, bob, "1.60", idempotencyKey="retry-me")
    assert retried.status_code == 201, retried.text
    created = [
        e
        for e in wallet.exchanges()[seen:]
        if e["method"] == "POST" and e["path"] == "/incoming-payments" and e["status"] == 201
    ]
    assert len(created) == 1
    assert wallet.pending_incoming("bob") == before + 1
    wallet.answer(retried.json()["confirmationUrl"])
    assert api.until_final(retried.json()["paymentId"])["status"] == "completed"
    assert wallet.pending_incoming("bob") == before
