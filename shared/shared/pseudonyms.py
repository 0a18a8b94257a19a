"""Keyed pseudonyms for user ids (phone numbers) in logs and in what goes to third parties.

A plain hash of a phone number is no pseudonym: there are few enough numbers to hash them all
(a truncated SHA-256 of one was reversed in 17 s). An HMAC with a secret key cannot be reversed
or recomputed without that key, and still gives one person the same pseudonym every time.
"""

from __future__ import annotations

import hashlib
import hmac

_DERIVATION_LABEL = b"paguito user pseudonyms v1"


def derive_key(secret: str) -> bytes:
    """A pseudonym key derived from a service secret (so the secret itself is never reused)."""
    return hmac.new(secret.encode(), _DERIVATION_LABEL, hashlib.sha256).digest()


def pseudonym(key: bytes, user_id: str, length: int = 16) -> str:
    """`length` hex characters of HMAC-SHA256(key, user_id)."""
    return hmac.new(key, user_id.encode(), hashlib.sha256).hexdigest()[:length]
