"""The sandbox accepts exactly the signatures Rafiki's own verifier accepts.

Each variant is sent to the sandbox's auth server and judged by `validateSignature` from
`@interledger/http-signature-utils` (what Rafiki runs); the verdicts must agree.
"""

from __future__ import annotations

import base64
import json
import subprocess
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.sandbox_wallet.gnap import PyClient
from tests.sandbox_wallet.support import Wallet, compact, send, signed
from tests.support.node import ensure_node_packages

pytestmark = pytest.mark.node


def _variants(op: PyClient, url: str) -> dict[str, httpx.Request]:
    access = [{"type": "incoming-payment", "actions": ["read"], "identifier": op.w.wallet("bob#é")}]
    body = {"access_token": {"access": access}, "client": op.client}

    def sign(**kw: Any) -> httpx.Request:
        return signed("POST", url, op.key, op.key_id, **kw)

    variants = {
        "valid": sign(body=body),
        "sha-256 digest": sign(body=body, digest="sha-256"),
        "keys reordered": sign(raw=compact(dict(reversed(list(body.items()))))),
        "pretty body": sign(raw=json.dumps(body, indent=1).encode()),
        "escaped unicode": sign(raw=json.dumps(body, separators=(",", ":")).encode()),
        "wrong digest": sign(body=body, digest_over=b"{}"),
        "other key": signed("POST", url, Ed25519PrivateKey.generate(), op.key_id, body=body),
    }
    tampered = sign(body=body)
    tampered_body = tampered.content.replace(b'"read"', b'"list"')
    variants["tampered body"] = httpx.Request(
        "POST",
        url,
        headers={k: v for k, v in tampered.headers.items() if k != "content-length"},
        content=tampered_body,
    )
    flipped = sign(body=body)
    label, value = flipped.headers["signature"].split("=:", 1)
    raw = bytearray(base64.b64decode(value.rstrip(":")))
    raw[-1] ^= 0x80
    flipped.headers["signature"] = f"{label}=:{base64.b64encode(bytes(raw)).decode()}:"
    variants["flipped signature"] = flipped
    no_digest = sign(body=body)
    del no_digest.headers["content-digest"]
    variants["digest header dropped"] = no_digest
    uncovered = sign(body=body)
    uncovered.headers["authorization"] = "GNAP 123"
    variants["authorization not covered"] = uncovered
    return variants


def test_sandbox_and_rafiki_verifier_agree(op: PyClient, shared_wallet: Wallet):
    variants = _variants(op, shared_wallet.auth)
    jwk = httpx.get(shared_wallet.wallet("paguito") + "/jwks.json").json()["keys"][0]
    payload = [
        {
            "method": r.method,
            "url": str(r.url),
            "headers": {k.lower(): v for k, v in r.headers.items()},
            "body": r.content.decode("utf-8", errors="replace") or None,
            "jwk": jwk,
        }
        for r in variants.values()
    ]
    referee = subprocess.run(
        ["node", "wallet-referee.mjs"],
        cwd=ensure_node_packages(),
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    rafiki = dict(zip(variants, json.loads(referee.stdout), strict=True))
    sandbox = {name: send(request).status_code == 200 for name, request in variants.items()}
    assert sandbox == rafiki
    assert [name for name, ok in rafiki.items() if ok] == [
        "valid",
        "sha-256 digest",
        "keys reordered",
    ]
