"""Wallet addresses: recognise them in text, normalise them, and check they exist.

The rules (what `$wallet.example/bob` means, what a wallet document may claim) are
`shared.wallet_address`; the fetch (byte cap, deadline, address check) is `shared.untrusted`.
A wallet is accepted only after its wallet address document answers with an asset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from shared.money import check_asset
from shared.names import clean_name
from shared.untrusted import FetchLimits, UntrustedUrlError, fetch, untrusted_client
from shared.wallet_address import (
    MAX_URL,
    WalletAddressError,
    check_document,
    find_wallet_address,
    to_url,
)

__all__ = ["MAX_URL", "WalletError", "WalletInfo", "WalletResolver", "find_wallet", "normalize"]
MAX_DOCUMENT = 64 * 1024


class WalletError(Exception):
    """`code` is 'invalid', 'insecure' or 'unreachable'."""

    def __init__(self, code: str, url: str) -> None:
        super().__init__(f"{code}: {url}")
        self.code = code
        self.url = url


@dataclass(frozen=True)
class WalletInfo:
    url: str
    asset_code: str
    asset_scale: int
    public_name: str | None


def find_wallet(text: str) -> str | None:
    """The first wallet address written in `text`, as typed (without trailing punctuation)."""
    return find_wallet_address(text)


def normalize(pointer: str, allow_http: bool) -> str:
    """`$host/path` → `https://host/path` (or http:// when allowed); URLs checked and tidied."""
    try:
        return to_url(pointer, allow_http=allow_http)
    except WalletAddressError as exc:
        # A private or odd numeric host is reported as "not a wallet address", not explained.
        raise WalletError("insecure" if exc.code == "insecure" else "invalid", pointer) from exc


class WalletResolver:
    def __init__(
        self, allow_http: bool, timeout: float, *, max_document: int = MAX_DOCUMENT
    ) -> None:
        self.allow_http = allow_http
        # The deadline covers resolution, connection, redirects and the whole body.
        self.limits = FetchLimits(max_bytes=max_document, deadline_seconds=timeout)
        self.http = untrusted_client(allow_private=allow_http, timeout=timeout, retries=2)

    async def resolve(self, pointer: str) -> WalletInfo:
        """Normalise and fetch the wallet address document; WalletError when it is not a wallet."""
        url = normalize(pointer, self.allow_http)
        try:
            response = await fetch(
                self.http, url, limits=self.limits, headers={"Accept": "application/json"}
            )
        except (httpx.HTTPError, UntrustedUrlError) as exc:
            raise WalletError("unreachable", url) from exc
        if response.status_code != 200:
            raise WalletError("unreachable", url)
        try:
            doc = json.loads(response.content)
            asset, scale = doc["assetCode"], doc["assetScale"]
            check_asset(asset, scale)
            servers = check_document(
                url,
                id=str(doc["id"]) if doc.get("id") else None,
                auth_server=str(doc["authServer"]),
                resource_server=str(doc["resourceServer"]) if doc.get("resourceServer") else None,
                allow_http=self.allow_http,
            )
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            # WalletAddressError and MoneyError are ValueErrors: a document lying about where
            # it lives, or with an asset we could not show or pay in.
            raise WalletError("unreachable", url) from exc
        return WalletInfo(
            url=servers.id,
            asset_code=asset,
            asset_scale=scale,
            public_name=clean_name(doc.get("publicName")),
        )

    async def aclose(self) -> None:
        await self.http.aclose()
