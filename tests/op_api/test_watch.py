"""POST /payments/watch: one long poll over many payments (issue 12). It answers at once when a
status differs from the caller's, wakes on a transition in its own process, and answers with
nothing when nothing moved in time. Approval in polling mode is noticed by op_api's own runner
(nobody calls /confirm-payment here)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.op_api.harness import OpApi, Wallet

Start = Callable[..., OpApi]


def _watch(api: OpApi, seen: dict[str, str], wait: float) -> httpx.Response:
    body = {"payments": [{"paymentId": k, "status": v} for k, v in seen.items()]}
    return api.http.post("/payments/watch", json={**body, "waitSeconds": wait})


def test_a_difference_or_an_unknown_payment_is_answered_at_once(
    wallet: Wallet, op_api: Start
) -> None:
    api = op_api()
    payment = api.start(wallet.address("alice"), wallet.address("bob"), "1.10")
    pid = payment["paymentId"]
    started = time.monotonic()
    answer = _watch(api, {pid: "approved", "nope": "sending"}, 20)
    assert time.monotonic() - started < 10  # far from the 20 s it may wait
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(v["paymentId"], v["status"]) for v in body["payments"]] == [(pid, "awaiting_approval")]
    assert body["payments"][0]["debitAmount"]["value"] == payment["debitAmount"]["value"]
    assert body["unknown"] == ["nope"]


def test_nothing_moving_answers_nothing_after_the_wait(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    pid = api.start(wallet.address("alice"), wallet.address("bob"), "1.20")["paymentId"]
    started = time.monotonic()
    answer = _watch(api, {pid: "awaiting_approval"}, 1.5)
    assert answer.status_code == 200, answer.text
    assert time.monotonic() - started >= 1.5
    assert answer.json() == {"payments": [], "unknown": []}


def test_a_transition_wakes_the_watch(wallet: Wallet, op_api: Start) -> None:
    """The re-read interval is set far beyond the test: only the in-process signal from
    `lifecycle.transition` can wake the watch in time."""
    api = op_api(WATCH_REREAD_SECONDS="60")
    pids = [
        api.start(wallet.address("alice"), wallet.address("bob"), amount)["paymentId"]
        for amount in ("1.30", "1.40")
    ]
    first = api.get(pids[0])
    approved_at: list[float] = []

    def approve() -> None:
        time.sleep(1.0)  # the watch is waiting by now
        approved_at.append(time.monotonic())
        assert wallet.answer(first["confirmationUrl"]).status_code == 200

    approver = threading.Thread(target=approve)
    approver.start()
    started = time.monotonic()
    answer = _watch(api, dict.fromkeys(pids, "awaiting_approval"), 25)
    answered = time.monotonic()
    approver.join()
    assert answer.status_code == 200, answer.text
    views: list[dict[str, Any]] = answer.json()["payments"]
    assert [v["paymentId"] for v in views] == [pids[0]]
    assert views[0]["status"] in {"approved", "sending", "completed"}
    assert approved_at[0] < answered, "the answer came before the approval it reports"
    # The grant's wait (1 s) plus a runner sweep (0.3 s), with room for a loaded machine.
    assert answered - approved_at[0] < 8, answered - started
    # The watch moves on with what it was told; the payment settles without /confirm-payment.
    seen = {pids[0]: views[0]["status"]}
    deadline = time.monotonic() + 20
    while seen[pids[0]] != "completed" and time.monotonic() < deadline:
        moved = _watch(api, seen, 10).json()["payments"]
        seen.update({v["paymentId"]: v["status"] for v in moved})
    assert seen[pids[0]] == "completed"


def test_watch_needs_the_token_and_valid_input(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    body = {"payments": [{"paymentId": "x", "status": "sending"}], "waitSeconds": 1}
    assert httpx.post(f"{api.url}/payments/watch", json=body).status_code == 401
    for bad in (
        {**body, "waitSeconds": 26},
        {**body, "waitSeconds": -1},
        {"payments": [], "waitSeconds": 1},
        {"payments": [{"paymentId": "x", "status": "initiating"}]},
    ):
        response = api.http.post("/payments/watch", json=bad)
        assert response.status_code == 422, (bad, response.text)
