"""GNAP interaction finish: the `hash` the auth server appends to the redirect back to us.

hash = base64 (standard, padded) of SHA-256 over `clientNonce \\n asNonce \\n interactRef \\n
grantEndpoint`, where the grant endpoint is the wallet's `authServer` URL. Hand-written because
no library implements it; compared in constant time so it leaks nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def finish_hash(client_nonce: str, as_nonce: str, interact_ref: str, grant_endpoint: str) -> str:
    data = "\n".join((client_nonce, as_nonce, interact_ref, grant_endpoint)).encode("utf-8")
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def verify_finish_hash(
    received: str, client_nonce: str, as_nonce: str, interact_ref: str, grant_endpoint: str
) -> bool:
    expected = finish_hash(client_nonce, as_nonce, interact_ref, grant_endpoint)
    return hmac.compare_digest(received.encode("utf-8"), expected.encode("utf-8"))
