"""GNAP tokens sealed at rest.

op_api's database holds the access tokens that create incoming payments, quotes and outgoing
payments. Whoever reads the file (a backup, a copied disk, a leaked dump) must not get tokens
that move money, so the token columns are stored sealed with AES-GCM under a key from the
environment (`TOKEN_ENCRYPTION_KEY`, or one derived from `INTERNAL_API_TOKEN`). The stores seal
every value they write to those columns and open every value they read (`PaymentStore`'s column
codecs, the lifecycle's writes included).

Stored format (unchanged since the columns were SQLAlchemy types, so older rows still open): a
text column holds `sealed:v1:<base64url(nonce + ciphertext)>`; a JSON column holds that string
as a JSON string (`"sealed:v1:…"`), sealing the compact JSON of the value. Values written before
sealing existed (plain JSON objects, plain text) are still read as they are and sealed the next
time they are written.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "sealed:v1:"
_NONCE_BYTES = 12
_DERIVATION_LABEL = b"paguito op_api token sealing v1"


class UnsealError(ValueError):
    """A sealed value that this key cannot open (another key, or a damaged value)."""


class TokenSealer:
    """Seals and opens strings with AES-GCM (a fresh random nonce per value)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @classmethod
    def from_secret(cls, secret: str) -> TokenSealer:
        """A sealer keyed by a service secret (derived, so the secret itself is never the key)."""
        return cls(hmac.new(secret.encode(), _DERIVATION_LABEL, hashlib.sha256).digest())

    def seal(self, plaintext: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), None)
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, value: str) -> str:
        """The plaintext of a sealed value; a value written before sealing, as it is."""
        if not value.startswith(PREFIX):
            return value
        try:
            raw = base64.urlsafe_b64decode(value[len(PREFIX) :])
            opened = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None)
        except (InvalidTag, ValueError) as exc:
            raise UnsealError(
                "a stored token cannot be opened: TOKEN_ENCRYPTION_KEY (or INTERNAL_API_TOKEN, "
                "which it defaults to) differs from the one it was sealed with"
            ) from exc
        return opened.decode()

    def seal_text(self, value: str | None) -> str | None:
        """A text column's stored value."""
        return None if value is None else self.seal(value)

    def open_text(self, stored: str | None) -> str | None:
        return None if stored is None else self.open(stored)

    def seal_json(self, value: Any) -> str | None:
        """A JSON column's stored text: the sealed compact JSON, itself as a JSON string."""
        if value is None:
            return None
        return json.dumps(self.seal(json.dumps(value, separators=(",", ":"))))

    def open_json(self, stored: str | None) -> Any:
        """A JSON column's value from its stored text (an object written before sealing, as
        it is)."""
        if not stored:
            return None
        value = json.loads(stored)
        return json.loads(self.open(value)) if isinstance(value, str) else value
