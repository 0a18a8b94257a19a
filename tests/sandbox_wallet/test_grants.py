"""GNAP continuation, cancellation and token management behave like Rafiki's."""

from __future__ import annotations

import base64
import hashlib
import time
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.sandbox_wallet.gnap import PyClient, error
from tests.sandbox_wallet.support import Wallet, start_wallet

LIMITS = {"debitAmount": {"value": "500", "assetCode": "USD", "assetScale": 2}}


def test_polling_too_fast_pending_then_the_token_once(op: PyClient):
    pending = op.pending_grant(LIMITS)
    assert pending["continue"]["wait"] == 1
    # Too fast even the first time; a refused poll does not restart the clock.
    assert error(op.continue_grant(pending)) == (400, "too_fast")
    time.sleep(1.05)
    answer = op.continue_grant(pending)
    assert answer.status_code == 200
    assert "access_token" not in answer.json()
    assert answer.json()["continue"]["wait"] == 1
    # A successful pending poll does restart it.
    assert error(op.continue_grant(pending)) == (400, "too_fast")
    op.decide(pending, "approve")
    time.sleep(1.05)
    granted = op.continue_grant(pending)
    assert granted.status_code == 200
    token = granted.json()["access_token"]
    assert token["access"][0]["limits"] == LIMITS
    assert token["manage"].startswith(op.w.auth + "/token/")
    time.sleep(1.05)
    assert error(op.continue_grant(pending)) == (401, "request_denied")


def test_rejected_grant_is_denied(op: PyClient):
    pending = op.pending_grant(LIMITS)
    op.decide(pending, "reject")
    time.sleep(1.05)
    assert error(op.continue_grant(pending)) == (401, "request_denied")


def test_finish_redirect_hash_and_interact_ref(op: PyClient, shared_wallet: Wallet):
    finish = {"method": "redirect", "uri": "http://127.0.0.1:9/back?x=1", "nonce": "client-nonce"}
    pending = op.pending_grant(LIMITS, finish=finish)
    # A grant with a finish URI cannot be polled.
    time.sleep(1.05)
    assert error(op.continue_grant(pending)) == (401, "request_denied")
    decision = op.decide(pending)
    query = parse_qs(urlsplit(decision["redirect"]).query)
    assert query["x"] == ["1"]
    interact_ref = query["interact_ref"][0]
    data = f"client-nonce\n{pending['interact']['finish']}\n{interact_ref}\n{shared_wallet.auth}"
    assert query["hash"] == [base64.b64encode(hashlib.sha256(data.encode()).digest()).decode()]
    assert error(op.continue_grant(pending, {"interact_ref": "wrong"})) == (
        404,
        "invalid_continuation",
    )
    granted = op.continue_grant(pending, {"interact_ref": interact_ref})
    assert granted.status_code == 200, granted.text
    assert error(op.continue_grant(pending, {"interact_ref": interact_ref})) == (
        401,
        "request_denied",
    )


def test_finish_redirect_on_reject(op: PyClient):
    finish = {"method": "redirect", "uri": "http://127.0.0.1:9/back", "nonce": "n"}
    pending = op.pending_grant(LIMITS, finish=finish)
    decision = op.decide(pending, "reject")
    assert decision["redirect"] == "http://127.0.0.1:9/back?result=grant_rejected"


def test_wrong_continue_token_and_cancel(op: PyClient):
    pending = op.pending_grant(LIMITS)
    uri = pending["continue"]["uri"]
    assert error(op.request("POST", uri, token="not-the-token")) == (401, "invalid_continuation")
    cancel = op.request("DELETE", uri, token=pending["continue"]["access_token"]["value"])
    assert cancel.status_code == 204
    # The consent page no longer offers a cancelled request.
    assert httpx.get(pending["interact"]["redirect"]).status_code == 409
    time.sleep(1.05)
    assert error(op.continue_grant(pending)) == (401, "request_denied")


def test_rotated_and_revoked_tokens_become_inactive(op: PyClient, shared_wallet: Wallet):
    granted = op.token([{"type": "incoming-payment", "actions": ["create", "read", "list"]}])[
        "access_token"
    ]
    url = f"{shared_wallet.url}/incoming-payments?wallet-address={shared_wallet.wallet('bob')}"
    assert op.request("GET", url, token=granted["value"]).status_code == 200
    rotated = op.request("POST", granted["manage"], token=granted["value"])
    assert rotated.status_code == 200
    fresh = rotated.json()["access_token"]
    assert fresh["value"] != granted["value"]
    assert fresh["manage"] != granted["manage"]
    old = op.request("GET", url, token=granted["value"])
    assert old.status_code == 403
    assert old.json()["error"]["description"] == "Inactive Token"
    assert old.headers["www-authenticate"] == f"GNAP as_uri={shared_wallet.auth}"
    # The old management URL no longer rotates anything.
    assert op.request("POST", granted["manage"], token=granted["value"]).status_code in {401, 404}
    assert op.request("GET", url, token=fresh["value"]).status_code == 200
    assert op.request("DELETE", fresh["manage"], token=fresh["value"]).status_code == 204
    assert op.request("GET", url, token=fresh["value"]).status_code == 403
    assert op.request("GET", url, token="made-up").status_code == 403
    assert op.request("GET", url, token=None).status_code == 401


def test_token_must_cover_the_action_and_the_wallet(op: PyClient, shared_wallet: Wallet):
    bob_token = op.incoming_token("bob")
    body = {"walletAddress": shared_wallet.wallet("alice")}
    response = op.request("POST", f"{shared_wallet.url}/incoming-payments", body, bob_token)
    assert response.status_code == 403
    assert response.json()["error"]["description"] == "Insufficient Grant"
    quote_token = op.quote_token()
    body = {"walletAddress": shared_wallet.wallet("bob")}
    response = op.request("POST", f"{shared_wallet.url}/incoming-payments", body, quote_token)
    assert response.status_code == 403


def test_bad_grant_requests_are_4xx(op: PyClient, shared_wallet: Wallet):
    assert error(op.request("POST", shared_wallet.auth, raw=b"{not json")) == (
        400,
        "invalid_request",
    )
    assert error(op.grant_request([{"type": "sandwich", "actions": ["eat"]}]))[0] == 400
    outgoing = [
        {"type": "outgoing-payment", "actions": ["create"], "identifier": op.w.wallet("alice")}
    ]
    assert error(op.grant_request(outgoing)) == (400, "invalid_request")  # no interact
    nowhere = [{"type": "outgoing-payment", "actions": ["create"], "identifier": "http://x.test/a"}]
    assert error(op.grant_request(nowhere, interact={"start": ["redirect"]}))[0] == 400
    both = {**LIMITS, "receiveAmount": LIMITS["debitAmount"]}
    assert (
        error(
            op.grant_request([{**outgoing[0], "limits": both}], interact={"start": ["redirect"]})
        )[0]
        == 400
    )


def test_expired_tokens_are_inactive_but_can_be_rotated(spawn, tmp_path):
    wallet = start_wallet(spawn, tmp_path, "--token-ttl", "1")
    op = PyClient(wallet)
    granted = op.token([{"type": "incoming-payment", "actions": ["list"]}])["access_token"]
    assert granted["expires_in"] <= 1
    url = f"{wallet.url}/incoming-payments?wallet-address={wallet.wallet('bob')}"
    assert op.request("GET", url, token=granted["value"]).status_code == 200
    time.sleep(1.1)
    expired = op.request("GET", url, token=granted["value"])
    assert (expired.status_code, expired.json()["error"]["description"]) == (403, "Inactive Token")
    rotated = op.request("POST", granted["manage"], token=granted["value"])
    assert rotated.status_code == 200
    fresh = rotated.json()["access_token"]["value"]
    assert op.request("GET", url, token=fresh).status_code == 200


def test_client_may_be_given_as_an_object(op: PyClient, shared_wallet: Wallet):
    body = {
        "access_token": {"access": [{"type": "quote", "actions": ["create"]}]},
        "client": {"walletAddress": op.client},
    }
    assert op.request("POST", shared_wallet.auth, body).status_code == 200
    body["client"] = {"jwk": {"kid": "k", "alg": "EdDSA", "kty": "OKP", "crv": "Ed25519", "x": "a"}}
    assert error(op.request("POST", shared_wallet.auth, body)) == (400, "invalid_client")
