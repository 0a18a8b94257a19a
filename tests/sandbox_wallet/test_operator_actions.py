"""What a wallet's user or operator does that clients only see the effects of (as Rafiki
behaves): revoking access, cancelling a payment with a reason, holding an answer; counting the
incoming payments left open; and `wait` enforced on finish-mode continuations too."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.sandbox_wallet.gnap import PyClient, error
from tests.sandbox_wallet.support import Wallet, signed, start_wallet
from tests.support.processes import ServiceProcess

USD = {"assetCode": "USD", "assetScale": 2}


def _pending(wallet: Wallet, name: str = "bob") -> int:
    count: int = wallet.admin("GET", f"/incoming-payments?wallet={name}&state=pending")["count"]
    return count


def test_revoking_a_clients_grants_makes_their_tokens_inactive(
    op: PyClient, shared_wallet: Wallet
) -> None:
    incoming, quote = op.incoming_token(), op.quote_token()
    op.incoming(incoming)
    revoked = shared_wallet.admin(
        "POST", "/grants/revoke", {"client": op.client, "type": "incoming-payment"}
    )
    assert revoked["revoked"] >= 1
    refused = op.request(
        "POST",
        f"{shared_wallet.url}/incoming-payments",
        {"walletAddress": shared_wallet.wallet("bob")},
        incoming,
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["description"] == "Inactive Token"
    # Only that type was revoked: the quote token still works.
    op.quote(quote, op.incoming(op.incoming_token())["id"])
    bad = httpx.post(f"{shared_wallet.url}/admin/grants/revoke", json={"type": 3})
    assert bad.status_code == 400


def test_pending_incoming_payments_are_counted(op: PyClient, shared_wallet: Wallet) -> None:
    before = _pending(shared_wallet)
    token = op.incoming_token()
    created = op.incoming(token)
    assert _pending(shared_wallet) == before + 1
    listed = shared_wallet.admin("GET", "/incoming-payments?wallet=bob&state=pending")
    assert created["id"].endswith(listed["incomingPayments"][-1]["id"])
    done = op.request("POST", f"{created['id']}/complete", None, token)
    assert done.status_code == 200, done.text
    assert _pending(shared_wallet) == before
    assert httpx.get(f"{shared_wallet.url}/admin/incoming-payments?state=x").status_code == 400


def test_a_late_fault_does_the_work_and_holds_the_answer(
    op: PyClient, shared_wallet: Wallet
) -> None:
    token = op.incoming_token()
    before = _pending(shared_wallet)
    fault = {"scope": "resource", "mode": "late", "seconds": 3, "method": "POST"}
    shared_wallet.admin("POST", "/faults", fault)
    body = {"walletAddress": shared_wallet.wallet("bob")}
    started = time.monotonic()
    request = signed(
        "POST",
        f"{shared_wallet.url}/incoming-payments",
        op.key,
        op.key_id,
        body=body,
        token=token,
    )
    with pytest.raises(httpx.ReadTimeout), httpx.Client(timeout=0.5) as client:
        client.send(request)
    assert time.monotonic() - started < 3
    assert _pending(shared_wallet) == before + 1  # created, though the client never heard
    last = shared_wallet.exchanges()[-1]
    assert (last["path"], last["status"]) == ("/incoming-payments", 201)


def test_finish_mode_continuations_wait_too(op: PyClient) -> None:
    finish = {"method": "redirect", "uri": "http://127.0.0.1:9/back", "nonce": "n"}
    limits = {"debitAmount": {"value": "100", **USD}}
    pending = op.pending_grant(limits, finish=finish)
    decision = op.decide(pending)
    interact_ref = parse_qs(urlsplit(decision["redirect"]).query)["interact_ref"][0]
    early = op.continue_grant(pending, {"interact_ref": interact_ref})
    assert error(early) == (400, "too_fast")
    time.sleep(pending["continue"]["wait"] + 0.05)
    assert op.continue_grant(pending, {"interact_ref": interact_ref}).status_code == 200


def test_a_payment_cancelled_by_the_wallet_carries_its_reason(
    spawn: Callable[..., ServiceProcess], tmp_path: Path
) -> None:
    wallet = start_wallet(spawn, tmp_path, "--settle-delay", "30")
    op = PyClient(wallet)
    quote = op.quote(op.quote_token(), op.incoming(op.incoming_token())["id"])
    token = op.approved_token({"debitAmount": quote["debitAmount"]})["value"]
    before = wallet.balances()
    created = op.pay(token, quote)
    assert created.status_code == 201, created.text
    payment_id = created.json()["id"].rsplit("/", 1)[1]
    reason = {"reason": "insufficient liquidity", "sent": 0}
    wallet.admin("POST", f"/outgoing-payments/{payment_id}/cancel", reason)
    seen = op.request("GET", created.json()["id"], token=token).json()
    assert seen["failed"] is True
    assert seen["metadata"]["cancellationReason"] == "insufficient liquidity"
    assert seen["sentAmount"]["value"] == "0"
    assert wallet.balances() == before
    again = httpx.post(f"{wallet.url}/admin/outgoing-payments/{payment_id}/cancel", json=reason)
    assert again.status_code == 409
    # The quote is used: a second outgoing payment for it is "invalid quote", as in Rafiki.
    second = op.pay(token, quote)
    assert second.status_code == 400
    assert "invalid quote" in second.json()["error"]["description"]
