"""Ed25519 keys as JWKs, and the platform client's key pair files in the data dir."""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sandbox.wallet.config import (
    OP_API_ENV_FILE,
    PLATFORM_KEY_FILE,
    PLATFORM_KEY_ID_FILE,
    PLATFORM_WALLET,
    WalletConfig,
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_x(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b64url(raw)


def jwk(kid: str, x: str) -> dict[str, str]:
    return {"kid": kid, "alg": "EdDSA", "kty": "OKP", "crv": "Ed25519", "x": x}


def public_key_from_x(x: str) -> Ed25519PublicKey:
    """Raises ValueError when `x` is not a 32-byte base64url Ed25519 key."""
    raw = b64url_decode(x)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class PlatformKey:
    key_id: str
    private_key_path: Path
    x: str


def ensure_platform_key(config: WalletConfig) -> PlatformKey:
    """Load the platform key pair from the data dir, generating it on first start."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    key_path = config.data_dir / PLATFORM_KEY_FILE
    kid_path = config.data_dir / PLATFORM_KEY_ID_FILE
    if key_path.exists() and kid_path.exists():
        loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise SystemExit(f"{key_path} is not an Ed25519 private key")
        key, kid = loaded, kid_path.read_text().strip()
    else:
        key, kid = Ed25519PrivateKey.generate(), f"paguito-{uuid.uuid4().hex[:12]}"
        # 0600: the private key must not be readable by other local users.
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private_pem(key))
        kid_path.write_text(kid + "\n")
    platform = PlatformKey(kid, key_path.resolve(), public_x(key))
    (config.data_dir / OP_API_ENV_FILE).write_text(
        f"WALLET_ADDRESS_URL={config.wallet_url(PLATFORM_WALLET)}\n"
        f"KEY_ID={platform.key_id}\n"
        f"PRIVATE_KEY_PATH={platform.private_key_path}\n"
    )
    return platform
