"""The platform's Ed25519 key: loading (PEM file, PEM text, base64 of a PEM) and its JWK.

Interledger's test wallet hands keys out as base64-encoded PEM, so all three forms are accepted.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


class KeyLoadError(ValueError):
    """The key material is not an Ed25519 private key in a format we understand."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def load_private_key(material: str | bytes) -> Ed25519PrivateKey:
    """Parse PEM text (PKCS#8) or base64 of that PEM into an Ed25519 private key."""
    raw = material.encode() if isinstance(material, str) else material
    raw = raw.strip()
    if not raw.startswith(b"-----BEGIN"):
        try:
            raw = base64.b64decode(raw, validate=False).strip()
        except (binascii.Error, ValueError) as exc:
            raise KeyLoadError("private key is neither PEM nor base64-encoded PEM") from exc
        if not raw.startswith(b"-----BEGIN"):
            raise KeyLoadError("private key is neither PEM nor base64-encoded PEM")
    try:
        key = serialization.load_pem_private_key(raw, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyLoadError("private key PEM could not be parsed") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyLoadError("private key is not an Ed25519 key")
    return key


def load_private_key_file(path: str | Path) -> Ed25519PrivateKey:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise KeyLoadError(f"cannot read private key file {path}: {exc.strerror}") from exc
    return load_private_key(data)


@dataclass(frozen=True)
class SigningKey:
    """A private key and the id under which its public half is registered at the wallet."""

    key_id: str
    private_key: Ed25519PrivateKey

    def public_jwk(self) -> dict[str, str]:
        """The JWK to register at a wallet (the shape wallets serve at `/jwks.json`)."""
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return {
            "kid": self.key_id,
            "alg": "EdDSA",
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64url(public),
        }

    def private_pem(self) -> str:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    @classmethod
    def generate(cls, key_id: str | None = None) -> SigningKey:
        return cls(key_id or str(uuid.uuid4()), Ed25519PrivateKey.generate())
