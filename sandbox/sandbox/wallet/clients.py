"""Who is calling: a client's wallet address document and JWKS, here or on another host."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from sandbox.wallet.keys import jwk, public_key_from_x
from sandbox.wallet.models import Wallet, WalletKey
from sandbox.wallet.state import WalletState

logger = logging.getLogger(__name__)


def local_wallet_name(state: WalletState, url: str) -> str | None:
    """`alice` for `<base>/alice`; None for anything not hosted here."""
    prefix = state.config.base + "/"
    if not url.startswith(prefix):
        return None
    name = url[len(prefix) :].rstrip("/")
    return name if name and "/" not in name and "?" not in name else None


async def wallet_document(state: WalletState, url: str) -> dict[str, Any] | None:
    name = local_wallet_name(state, url)
    if name is not None:
        async with state.sessions() as session:
            wallet = await session.get(Wallet, name)
        return None if wallet is None else wallet_json(state, wallet)
    return await _fetch_json(state, url)


async def client_jwks(state: WalletState, url: str) -> list[dict[str, Any]] | None:
    name = local_wallet_name(state, url)
    if name is not None:
        async with state.sessions() as session:
            if await session.get(Wallet, name) is None:
                return None
            keys = (await session.scalars(select(WalletKey).where(WalletKey.wallet == name))).all()
        return [jwk(k.kid, k.x) for k in keys]
    document = await _fetch_json(state, url.rstrip("/") + "/jwks.json")
    keys_field = document.get("keys") if document else None
    return [k for k in keys_field if isinstance(k, dict)] if isinstance(keys_field, list) else None


async def client_key(state: WalletState, client: str, kid: str) -> Ed25519PublicKey | None:
    """The client's Ed25519 key with this key id, or None (unknown client or key)."""
    for key in await client_jwks(state, client) or []:
        if key.get("kid") == kid and key.get("kty") == "OKP" and key.get("crv") == "Ed25519":
            try:
                return public_key_from_x(str(key.get("x", "")))
            except ValueError:
                return None
    return None


def wallet_json(state: WalletState, wallet: Wallet) -> dict[str, Any]:
    return {
        "id": state.config.wallet_url(wallet.name),
        "publicName": wallet.public_name,
        "assetCode": wallet.asset_code,
        "assetScale": wallet.asset_scale,
        "authServer": state.config.auth_url,
        "resourceServer": state.config.resource_url,
    }


async def _fetch_json(state: WalletState, url: str) -> dict[str, Any] | None:
    if not url.startswith(("http://", "https://")):
        return None
    try:
        response = await state.http.get(url, headers={"Accept": "application/json"})
        if response.status_code != 200:
            return None
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        logger.info("could not fetch client document", extra={"url": url, "error": str(exc)})
        return None
    return data if isinstance(data, dict) else None
