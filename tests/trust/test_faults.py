"""Faults injected into a running stack: crashes, a flaky wallet, a failing OpenAI, a busy
Graph API, a service down. Each test checks the two things a user of a payments product cares
about: money moves at most once, and the user is never left without an answer."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.op_api.harness import FINAL, OpApi, Wallet, start_wallet, wallet_env
from tests.support.processes import TEST_TOKEN, ServiceProcess, console_script, free_port
from tests.trust.support import (
    OP_ENV,
    Replicated,
    ask_and_confirm,
    outgoing_creations,
    pointer,
    receipts,
    replicated_stack,
    text_of,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicated]:
    """One replica of everything (the phone's Graph API fault switch is in the sandbox)."""
    with replicated_stack(tmp_path_factory.mktemp("faults"), replicas=1) as s:
        yield s


@pytest.fixture(autouse=True)
def _no_leftover_faults(stack: Replicated) -> Iterator[None]:
    yield
    stack.wallet.admin("DELETE", "/faults")
    httpx.delete(f"{stack.phone.url}/_faults")


def _graph_fault(stack: Replicated, status: int, count: int) -> None:
    """The sandbox phone answers the next `count` message sends as a busy Graph API would."""
    fault = {"status": status, "count": count, "method": "POST", "path": "/messages"}
    assert httpx.post(f"{stack.phone.url}/_faults", json=fault).status_code == 201


def _graph_injected(stack: Replicated) -> list[int]:
    return [f["status"] for f in httpx.get(f"{stack.phone.url}/_faults").json()["injected"]]


def _sender(stack: Replicated, balance: str = "50.00") -> str:
    return stack.wallet.add_wallet(f"s{uuid.uuid4().hex[:10]}", balance)


@pytest.fixture
def pair(spawn, tmp_path) -> Iterator[tuple[Wallet, OpApi]]:
    """A wallet and op_api of the test's own: wallet faults are global to a wallet, and a
    payment left behind by another test would take them first."""
    wallet_proc, wallet = start_wallet(tmp_path / "wallet")
    try:
        env = {**wallet_env(wallet), **OP_ENV, "SETTLEMENT_TIMEOUT_SECONDS": "6"}
        yield wallet, OpApi(spawn("op_api", [console_script("op-api")], env))
    finally:
        wallet_proc.stop()


OUTGOING_POST = {"scope": "resource", "method": "POST", "path": "/outgoing-payments"}


def _add_fault(wallet: Wallet, **fault: Any) -> None:
    assert wallet.admin("POST", "/faults", json=fault).status_code == 201


def _faults_left(wallet: Wallet) -> int:
    return len(wallet.admin("GET", "/faults").json()["faults"])


def _wallet_debits(wallet: Wallet, wallet_url: str) -> int:
    name = wallet_url.rsplit("/", 1)[1]
    movements = wallet.admin("GET", f"/wallets/{name}").json()["movements"]
    return sum(1 for m in movements if int(m["amount"]) < 0)


def _consistent(wallet: Wallet, sender: str, final: dict[str, Any]) -> None:
    """Never two payments, and the status the user is told agrees with the money."""
    created = outgoing_creations(wallet, sender)
    debits = _wallet_debits(wallet, sender)
    assert len(created) <= 1, created
    assert debits <= 1
    assert final["status"] in FINAL, final
    assert (final["status"] == "completed") == (debits == 1), (final, debits)


def _approve_with_fault(
    pair: tuple[Wallet, OpApi], amount: str, **fault: Any
) -> tuple[str, dict[str, Any]]:
    """A payment from a fresh sender, the fault armed, approved at the wallet."""
    wallet, op = pair
    sender = wallet.add_wallet(f"s{uuid.uuid4().hex[:10]}", "20.00")
    payment = op.start(sender, wallet.address("bob"), amount)
    if fault:
        _add_fault(wallet, **fault)
    assert wallet.answer(payment["confirmationUrl"]).status_code == 200
    return sender, payment


def test_op_api_killed_after_approval_completes_exactly_once(pair) -> None:
    """SIGKILL after the user approved at the wallet, before op_api continued the grant and
    created the outgoing payment: the restarted process finishes the job, once."""
    wallet, op = pair
    sender, payment = _approve_with_fault(pair, "3.00")
    op.proc.kill()
    op.proc.start()
    final = op.until_final(payment["paymentId"], timeout=30)
    assert final["status"] == "completed", final
    assert len(outgoing_creations(wallet, sender)) == 1
    assert _wallet_debits(wallet, sender) == 1


def test_op_api_killed_during_the_outgoing_payment_post_never_pays_twice(pair) -> None:
    """SIGKILL while the outgoing-payment POST is in flight: op_api cannot know whether the
    wallet created it. After the restart it retries the POST (the wallet refuses a second
    payment for the same quote) or judges by the receiver — and completes, once."""
    wallet, op = pair
    sender, payment = _approve_with_fault(pair, "3.00", **OUTGOING_POST, mode="hang", seconds=3)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _faults_left(wallet):
        op.confirm(payment["paymentId"])  # grants advance when the gateway asks
        time.sleep(0.2)
    assert not _faults_left(wallet), "the outgoing-payment POST never came"
    op.proc.kill()
    op.proc.start()
    # The claim of the dead process goes stale after 30 s.
    final = op.until_final(payment["paymentId"], timeout=60)
    _consistent(wallet, sender, final)
    assert final["status"] == "completed", final


def test_wallet_timeout_on_the_outgoing_payment_is_never_sent_twice(pair) -> None:
    """The POST outlives op_api's client timeout (10 s): outcome unknown. Retried safely (the
    quote can pay only once), the payment completes and the money moves once."""
    sender, payment = _approve_with_fault(pair, "2.00", **OUTGOING_POST, mode="hang", seconds=11)
    final = pair[1].until_final(payment["paymentId"], timeout=40)
    _consistent(pair[0], sender, final)
    assert final["status"] == "completed", final


def test_wallet_errors_are_retried_with_backoff_and_never_duplicated(stack: Replicated) -> None:
    """Through the chat: a 503 on the wallet address, a 500 creating the incoming payment (op_api
    answers 502, ws_bot retries with the same idempotency key) and 500s on the grant
    continuation (polled again later) — one payment, one receipt."""
    phone, wallet = stack.phone, stack.wallet
    wa_id = str(15550600000 + uuid.uuid4().int % 99999)
    sender = _sender(stack)
    phone.onboard(wa_id, "Flaky", pointer(sender))
    _add_fault(stack.wallet, scope="wallet", mode="error", status=503, count=1)
    _add_fault(stack.wallet, scope="resource", mode="error", status=500, count=1)
    url = ask_and_confirm(phone, wa_id, "send 4 to " + pointer(wallet.address("bob")))
    assert len([e for e in wallet.exchanges() if e["injected_fault"]]) == 2
    _add_fault(stack.wallet, scope="auth", mode="error", status=500, count=2, path="/auth/continue")
    n = phone.count(wa_id)
    assert wallet.answer(url).status_code == 200
    phone.wait_text(wa_id, "Payment sent", after=n, timeout=40)
    time.sleep(1.0)
    assert receipts(phone, wa_id, n) == 1
    assert len(outgoing_creations(wallet, sender)) == 1
    assert _wallet_debits(wallet, sender) == 1


def test_a_500_on_the_outgoing_payment_post_is_retried(pair) -> None:
    """A 5xx leaves the outcome unknown; retrying is safe because a wallet refuses a second
    outgoing payment for the same quote."""
    sender, payment = _approve_with_fault(pair, "1.50", **OUTGOING_POST, mode="error", status=500)
    final = pair[1].until_final(payment["paymentId"], timeout=20)
    _consistent(pair[0], sender, final)
    assert final["status"] == "completed", final
    posts = [
        e
        for e in pair[0].exchanges()
        if e["method"] == "POST" and e["path"].endswith("/outgoing-payments")
    ]
    # One failed attempt, one retry that created the payment; nothing more.
    assert [e["injected_fault"] for e in posts] == [True, False]


def test_a_wallet_failing_again_and_again_gets_growing_pauses(pair) -> None:
    """Three 500s in a row: each retry waits longer than the one before (a struggling wallet is
    not hammered), and the fourth attempt pays, once."""
    sender, payment = _approve_with_fault(pair, "1.25", **OUTGOING_POST, mode="error", count=3)
    final = pair[1].until_final(payment["paymentId"], timeout=30)
    _consistent(pair[0], sender, final)
    assert final["status"] == "completed", final
    times = [
        e["time"]
        for e in pair[0].exchanges()
        if e["method"] == "POST" and e["path"].endswith("/outgoing-payments")
    ]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == 3, times
    assert all(later > 1.5 * earlier for earlier, later in itertools.pairwise(gaps)), gaps


OPENAI_KEY = {"OPENAI_API_KEY": "sk-trust-0123456789"}


def _understand(url: str) -> tuple[float, dict[str, Any]]:
    """Seconds llm_back took to understand a payment request, and its answer."""
    body = {"wa_id": "15550001111", "name": "Ana", "message": "mándale 20 a Bob"}
    started = time.monotonic()
    r = httpx.post(
        f"{url}/webhook/whatsapp",
        json=body,
        headers={"Authorization": f"Bearer {TEST_TOKEN}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return time.monotonic() - started, r.json()


def _llm_with_fake_openai(spawn, **env: str) -> tuple[ServiceProcess, ServiceProcess]:
    openai = spawn("openai", [console_script("paguito-sandbox"), "openai", "--port", "{port}"])
    llm = spawn(
        "llm_back_openai",
        [console_script("llm-back")],
        {**OPENAI_KEY, "OPENAI_BASE_URL": f"{openai.url}/v1", **env},
    )
    return openai, llm


def test_openai_failing_falls_back_to_the_offline_parser_within_2_seconds(spawn) -> None:
    openai, llm = _llm_with_fake_openai(spawn, OPENAI_TIMEOUT_SECONDS="1.5")
    dead = spawn(
        "llm_back_dead_openai",
        [console_script("llm-back")],
        {**OPENAI_KEY, "OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1"},
    )
    for mode in ("error", "slow", "malformed"):
        httpx.post(f"{openai.url}/_fake/faults", json={"mode": mode, "count": None, "delay": 3})
        elapsed, answer = _understand(llm.url)
        assert elapsed < 2.0, (mode, elapsed)
        assert answer["intent"] == "send_payment", (mode, answer)
        assert Decimal(answer["monto"]) == 20, (mode, answer)
        assert answer["destinatario"] == "Bob", (mode, answer)
    elapsed, answer = _understand(dead.url)  # nothing listening at OPENAI_BASE_URL
    assert elapsed < 2.0
    assert answer["intent"] == "send_payment"


def test_a_hanging_openai_falls_back_within_2_seconds_with_default_settings(spawn) -> None:
    openai, llm = _llm_with_fake_openai(spawn)
    httpx.post(f"{openai.url}/_fake/faults", json={"mode": "slow", "count": None, "delay": 9})
    elapsed, answer = _understand(llm.url)
    assert answer["intent"] == "send_payment"
    assert elapsed < 2.0, elapsed


def test_graph_api_429_and_500_are_retried(stack: Replicated) -> None:
    phone, wallet = stack.phone, stack.wallet
    wa_id = str(15550500000 + uuid.uuid4().int % 99999)
    phone.onboard(wa_id, "Gina", pointer(wallet.address("alice")))
    for status in (429, 500):
        # Three in a row: the read mark, the reply and the apology would each take one if the
        # reply were not retried; only a retried reply reaches the user as the real answer.
        _graph_fault(stack, status, 3)
        n = phone.count(wa_id)
        phone.say(wa_id, "history")
        reply = phone.wait_for(wa_id, lambda m: True, after=n, timeout=20)
        assert "no payments yet" in text_of(reply), text_of(reply)
        assert _graph_injected(stack).count(status) == 3


def test_a_slow_read_mark_still_lands_before_the_answer(stack: Replicated) -> None:
    """The read mark ("typing…") goes out while the answer is worked out. When it is slow (a
    429, retried after a pause) the answer waits for it: arriving after the answer, it would
    show "typing…" under the reply for 25 seconds."""
    phone, wallet = stack.phone, stack.wallet
    wa_id = str(15550600000 + uuid.uuid4().int % 99999)
    phone.onboard(wa_id, "Hugo", pointer(wallet.address("alice")))
    fault = {"status": 429, "count": 1, "method": "POST", "path": "/messages"}
    n = phone.count(wa_id)
    assert httpx.post(f"{phone.url}/_faults", json=fault).status_code == 201
    phone.say(wa_id, "history")
    reply = phone.wait_for(wa_id, lambda m: True, after=n, timeout=20)
    assert "no payments yet" in text_of(reply), text_of(reply)
    assert _graph_injected(stack) == [429]  # the read mark's first try, not the answer
    time.sleep(0.5)
    assert httpx.get(f"{phone.url}/api/users/{wa_id}/typing").json() == {"typing": False}
    said = [m for m in phone.messages(wa_id) if m["direction"] == "in"][-1]
    assert said["read"], said


def test_llm_back_or_op_api_down_gets_a_clear_answer(stack: Replicated) -> None:
    phone, wallet = stack.phone, stack.wallet
    wa_id = str(15550400000 + uuid.uuid4().int % 99999)
    phone.onboard(wa_id, "Dora", pointer(wallet.address("alice")))
    bob = pointer(wallet.address("bob"))
    # Each service stopped in turn; the answer names what is wrong and that no money moved.
    for proc, expected in (
        (stack.llm, "can't understand messages right now"),
        (stack.ops[0].proc, "can't reach the payment service"),
    ):
        proc.stop()
        try:
            n = phone.count(wa_id)
            phone.say(wa_id, "send 3 to " + bob)
            phone.wait_text(wa_id, expected, after=n, timeout=30)
        finally:
            proc.start()


def test_op_api_down_while_the_gateway_polls_still_ends_in_one_receipt(stack: Replicated) -> None:
    """op_api SIGKILLed while ws_bot polls an approved payment: the poller keeps its schedule,
    and when op_api is back the payment completes and the user hears about it once."""
    phone, wallet = stack.phone, stack.wallet
    wa_id = str(15550100000 + uuid.uuid4().int % 99999)
    sender = _sender(stack)
    phone.onboard(wa_id, "Pablo", pointer(sender))
    url = ask_and_confirm(phone, wa_id, "send 2 to " + pointer(wallet.address("bob")))
    op = stack.ops[0]
    op.proc.kill()
    n = phone.count(wa_id)
    try:
        assert wallet.answer(url).status_code == 200
        time.sleep(3.0)  # several polls fail against the dead op_api
        assert receipts(phone, wa_id, n) == 0
    finally:
        op.proc.start()
    phone.wait_text(wa_id, "Payment sent", after=n, timeout=40)
    time.sleep(1.0)
    assert receipts(phone, wa_id, n) == 1
    assert _wallet_debits(wallet, sender) == 1


def test_a_busy_graph_api_still_delivers_the_receipt_once(stack: Replicated) -> None:
    """The receipt is the message that must not be lost: Graph answers 429 then 500 to it, the
    gateway retries, and the user gets it exactly once."""
    phone, wallet = stack.phone, stack.wallet
    wa_id = str(15550900000 + uuid.uuid4().int % 99999)
    sender = _sender(stack)
    phone.onboard(wa_id, "Rita", pointer(sender))
    url = ask_and_confirm(phone, wa_id, "send 2 to " + pointer(wallet.address("bob")))
    for status in (429, 500):
        _graph_fault(stack, status, 1)
    n = phone.count(wa_id)
    assert wallet.answer(url).status_code == 200
    phone.wait_text(wa_id, "Payment sent", after=n, timeout=40)
    time.sleep(1.0)
    assert receipts(phone, wa_id, n) == 1
    assert _graph_injected(stack) == [429, 500]
