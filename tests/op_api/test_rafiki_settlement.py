"""Settlement as a real Rafiki showed it (issue 11): a wallet that takes seconds to settle,
cancels a payment with a reason in its metadata, and whose `sentAmount` may count fees."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from itertools import pairwise

import pytest

from tests.op_api.harness import OpApi, Wallet, running_wallet

Start = Callable[..., OpApi]
SETTLE_SECONDS = 8


@pytest.fixture(scope="module")
def wallet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wallet]:
    """A wallet that settles outgoing payments SETTLE_SECONDS after they are created."""
    yield from running_wallet(
        tmp_path_factory, "slow-wallet", "--settle-delay", str(SETTLE_SECONDS)
    )


def _sending(wallet: Wallet, api: OpApi, amount: str) -> tuple[dict[str, object], str]:
    """A payment approved and sent, not settled yet: its view and its outgoing payment's id."""
    payment = api.start(wallet.address("alice"), wallet.address("bob"), amount)
    wallet.answer(str(payment["confirmationUrl"]))
    view = api.until_status(str(payment["paymentId"]), "sending")
    assert view["status"] == "sending", view
    return payment, wallet.outgoing_payment_of(str(payment["paymentId"]))


def _cancel(wallet: Wallet, outgoing_id: str, reason: str, sent: int = 0) -> None:
    body = {"reason": reason, "sent": sent}
    answer = wallet.admin("POST", f"/outgoing-payments/{outgoing_id}/cancel", json=body)
    assert answer.status_code == 200, answer.text


def test_the_wallets_cancellation_reason_reaches_the_user(wallet: Wallet, op_api: Start) -> None:
    """Deviation 4: Rafiki puts a cancelled payment's reason in `metadata.cancellationReason`.
    The incoming payment left behind is completed (deviation 5)."""
    api = op_api()
    before = wallet.pending_incoming("bob")
    payment, outgoing = _sending(wallet, api, "1.70")
    _cancel(wallet, outgoing, "insufficient liquidity at the connector")
    final = api.until_final(str(payment["paymentId"]))
    assert final["status"] == "failed"
    assert "insufficient liquidity at the connector" in final["failureReason"]
    assert wallet.pending_incoming("bob") == before


def test_sent_amount_never_decides_completion(wallet: Wallet, op_api: Start) -> None:
    """Deviation 7: a provider whose `sentAmount` counts fees reports the whole debit even for
    a payment that never reached the receiver. With the receiver unreadable, op_api must not
    call that completed: only the incoming payment says a payment arrived."""
    api = op_api()
    bob = wallet.balance("bob")
    payment, outgoing = _sending(wallet, api, "1.80")
    fault = {"scope": "resource", "mode": "error", "status": 503, "count": 100000}
    fault.update(method="GET", path="/incoming-payments")
    assert wallet.admin("POST", "/faults", json=fault).status_code == 201
    try:
        debit = int(Decimal(payment["debitAmount"]["value"]) * 100)  # type: ignore[index]
        _cancel(wallet, outgoing, "no route to the receiver", sent=debit)
        final = api.until_final(str(payment["paymentId"]))
    finally:
        wallet.admin("DELETE", "/faults")
    assert final["status"] == "failed", final
    assert "no route to the receiver" in final["failureReason"]
    assert wallet.balance("bob") == bob


def test_settlement_checks_back_off(wallet: Wallet, op_api: Start) -> None:
    """Deviation 6: while a payment takes seconds to settle, op_api does not read the outgoing
    and incoming payments every second (nor at every /confirm-payment)."""
    api = op_api()  # the runner sweeps every 0.3 s, and until_final confirms every 0.3 s
    payment, outgoing = _sending(wallet, api, "1.90")
    final = api.until_final(str(payment["paymentId"]), timeout=SETTLE_SECONDS + 10)
    assert final["status"] == "completed", final
    reads = [
        e
        for e in wallet.exchanges()
        if e["method"] == "GET" and e["path"] == f"/outgoing-payments/{outgoing}"
    ]
    # Every 0.3 s would be about 27 reads. The pause is a quarter of the time spent sending
    # (from 0.25 s, so a fast wallet is seen at once): reads grow with the log of the time,
    # about 14 in 8 s (and about 23 in 70 s, where every second made 75).
    assert 2 <= len(reads) <= 17, len(reads)
    gaps = [b["time"] - a["time"] for a, b in pairwise(reads)]
    assert gaps[-1] > 2 * gaps[0], gaps  # the pauses grow
