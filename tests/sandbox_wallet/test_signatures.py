"""Requests whose signatures Rafiki would refuse are refused, with Rafiki's status and code."""

from __future__ import annotations

import base64
import json

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.sandbox_wallet.gnap import PyClient, error
from tests.sandbox_wallet.openapi_check import validate
from tests.sandbox_wallet.support import Wallet, compact, send, signed, start_wallet

INCOMING = [{"type": "incoming-payment", "actions": ["create", "read"]}]


def _grant_body(op: PyClient) -> dict[str, object]:
    return {"access_token": {"access": INCOMING}, "client": op.client}


def _resend(request: httpx.Request, content: bytes) -> httpx.Response:
    """The same signed headers with other body bytes (Content-Length follows the new body)."""
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
    return send(httpx.Request(request.method, request.url, headers=headers, content=content))


def test_a_correctly_signed_grant_request_is_accepted(op: PyClient, shared_wallet: Wallet):
    response = op.request("POST", shared_wallet.auth, _grant_body(op))
    assert response.status_code == 200, response.text
    assert response.json()["access_token"]["access"] == INCOMING


def test_tampered_body_is_refused(op: PyClient, shared_wallet: Wallet):
    request = signed("POST", shared_wallet.auth, op.key, op.key_id, body=_grant_body(op))
    tampered = request.content.replace(b'"read"', b'"list"')
    assert error(_resend(request, tampered)) == (401, "invalid_client")
    # On the resource server too.
    token = op.incoming_token()
    body = {"walletAddress": shared_wallet.wallet("bob"), "metadata": {"note": "tacos"}}
    request = signed(
        "POST", f"{shared_wallet.url}/incoming-payments", op.key, op.key_id, body=body, token=token
    )
    response = _resend(request, request.content.replace(b"tacos", b"pizza"))
    assert response.status_code == 401
    assert "signature" in response.json()["error"]["description"]


def test_tampered_signature_is_refused(op: PyClient, shared_wallet: Wallet):
    request = signed("POST", shared_wallet.auth, op.key, op.key_id, body=_grant_body(op))
    label, value = request.headers["signature"].split("=:", 1)
    raw = bytearray(base64.b64decode(value.rstrip(":")))
    raw[0] ^= 0x01
    request.headers["signature"] = f"{label}=:{base64.b64encode(bytes(raw)).decode()}:"
    response = send(request)
    assert error(response) == (401, "invalid_client")
    assert response.json()["error"]["description"] == "invalid signature"


def test_wrong_key_id_is_an_unknown_client(op: PyClient, shared_wallet: Wallet):
    request = signed(
        "POST", shared_wallet.auth, op.key, "not-a-key-of-paguito", body=_grant_body(op)
    )
    response = send(request)
    assert error(response) == (400, "invalid_client")
    assert response.json()["error"]["description"] == "could not determine client"
    # The resource server answers 401 for a key the client does not publish.
    token = op.incoming_token()
    request = signed(
        "GET",
        f"{shared_wallet.url}/incoming-payments?wallet-address={shared_wallet.wallet('bob')}",
        op.key,
        "not-a-key-of-paguito",
        token=token,
    )
    assert send(request).status_code == 401


def test_right_key_id_with_the_wrong_key_is_refused(shared_wallet: Wallet):
    impostor = PyClient(shared_wallet, key=Ed25519PrivateKey.generate())
    response = impostor.request("POST", shared_wallet.auth, _grant_body(impostor))
    assert error(response) == (401, "invalid_client")


def test_missing_content_digest_is_refused(op: PyClient, shared_wallet: Wallet):
    # The header dropped after signing (the signature still covers it).
    request = signed("POST", shared_wallet.auth, op.key, op.key_id, body=_grant_body(op))
    del request.headers["content-digest"]
    assert error(send(request)) == (401, "invalid_client")
    # A signature that leaves the body uncovered altogether.
    bare = httpx.Request("POST", shared_wallet.auth, content=compact(_grant_body(op)))
    bare.headers["content-type"] = "application/json"
    signed_bare = signed("GET", shared_wallet.auth, op.key, op.key_id)
    bare.headers["signature"] = signed_bare.headers["signature"]
    bare.headers["signature-input"] = signed_bare.headers["signature-input"]
    assert error(send(bare)) == (401, "invalid_client")


def test_derived_components_rafiki_cannot_rebuild_are_refused(op: PyClient, shared_wallet: Wallet):
    request = signed(
        "POST",
        shared_wallet.auth,
        op.key,
        op.key_id,
        body=_grant_body(op),
        extra_components=("@authority",),
    )
    assert error(send(request)) == (401, "invalid_client")


def test_unsigned_request_is_refused(op: PyClient, shared_wallet: Wallet):
    response = httpx.post(shared_wallet.auth, json=_grant_body(op))
    assert error(response) == (401, "invalid_client")


def test_body_must_be_what_json_stringify_writes(op: PyClient, shared_wallet: Wallet):
    body = _grant_body(op)
    pretty = json.dumps(body, indent=2).encode()
    response = op.request("POST", shared_wallet.auth, raw=pretty)
    assert error(response) == (401, "invalid_client")
    assert "Content-Digest" in response.json()["error"]["description"]
    metadata = {"walletAddress": shared_wallet.wallet("bob"), "metadata": {"note": "café"}}
    token = op.incoming_token()
    ascii_escaped = json.dumps(metadata, separators=(",", ":"), ensure_ascii=True).encode()
    url = f"{shared_wallet.url}/incoming-payments"
    assert op.request("POST", url, raw=ascii_escaped, token=token).status_code == 401
    # Key order does not matter and sha-256 digests are accepted, like Rafiki.
    reordered = compact({"client": op.client, "access_token": {"access": INCOMING}})
    assert op.request("POST", shared_wallet.auth, raw=reordered).status_code == 200
    sha256 = op.request("POST", shared_wallet.auth, body=body, digest="sha-256")
    assert sha256.status_code == 200
    assert op.request("POST", url, body=metadata, token=token).status_code == 201


def test_error_answers_follow_the_specs(op: PyClient, shared_wallet: Wallet):
    exchanges = shared_wallet.exchanges()
    problems = [p for exchange in exchanges for p in validate(exchange, request=False)]
    assert problems == []


def test_keys_of_a_client_hosted_elsewhere_are_fetched(spawn, tmp_path, shared_wallet: Wallet):
    other = start_wallet(spawn, tmp_path)  # the client's own wallet provider
    foreign = PyClient(other)
    access = [{"type": "incoming-payment", "actions": ["list"]}]
    body = {"access_token": {"access": access}, "client": other.wallet("paguito")}
    response = foreign.request("POST", shared_wallet.auth, body)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]["value"]
    url = f"{shared_wallet.url}/incoming-payments?wallet-address={shared_wallet.wallet('bob')}"
    assert foreign.request("GET", url, token=token).status_code == 200
    # The token is bound to that client's keys: our own platform key cannot use it.
    assert PyClient(shared_wallet).request("GET", url, token=token).status_code == 401


def test_garbage_signature_headers_are_4xx_never_500(op: PyClient, shared_wallet: Wallet):
    good = signed("POST", shared_wallet.auth, op.key, op.key_id, body=_grant_body(op))
    variants = [
        {"signature-input": "sig1=("},
        {"signature-input": 'sig1=("@method" "@target-uri");created=x;keyid="k"'},
        {"signature-input": 'sig2=("@method" "@target-uri");created=1;keyid="k"'},
        {"signature": "sig1=:not base64!:"},
        {"signature": "sig1=::"},
        {"content-digest": "sha-512=:AAAA:"},
        {"content-digest": "md5=:AAAA:"},
        {"content-digest": "garbage"},
        {"authorization": "GNAP"},
        {"content-type": "text/plain"},
    ]
    for change in variants:
        headers = dict(good.headers) | change
        response = send(httpx.Request("POST", good.url, headers=headers, content=good.content))
        assert 400 <= response.status_code < 500, (change, response.text)
    for body in (b"[]", b"null", b'"x"', b'{"client": 5}', b"\xff\xfe"):
        response = op.request("POST", shared_wallet.auth, raw=body)
        assert 400 <= response.status_code < 500, (body, response.text)
    token = op.incoming_token()
    for path in (
        "/incoming-payments",
        "/quotes",
        "/outgoing-payments",
        "/incoming-payments/x/complete",
    ):
        for body in (b"[]", b"{}", b'{"walletAddress": 7}', b"\xff"):
            response = op.request("POST", shared_wallet.url + path, raw=body, token=token)
            assert 400 <= response.status_code < 500, (path, body, response.text)
