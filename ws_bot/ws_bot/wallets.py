"""Wallet addresses: recognise them in text, normalise them, and check they exist.

Users type payment pointers (`$wallet.example/bob`) or URLs. A pointer means
`https://wallet.example/bob`; with ALLOW_INSECURE_HTTP (sandbox, demo) it means `http://…`.
A wallet is accepted only after its wallet address document answers with an asset.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import httpx

from shared.http import create_client

# `$host[:port]/path` or `http(s)://host[:port]/path`; stops at whitespace and trailing punctuation.
_WALLET_RE = re.compile(r"(\$[A-Za-z0-9.\-]+(?::\d+)?(?:/[^\s]*)?|https?://[^\s]+)")
_MAX_DOCUMENT = 64 * 1024
MAX_URL = 2000


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


def _plausible_host(candidate: str) -> bool:
    """`$20`, `$20.50` or `$20/month` are amounts, not wallets: a pointer's host is a domain
    name (with a dot), `localhost`, or a dotted-quad IP address."""
    if not candidate.startswith("$"):
        return True
    host = re.split(r"[:/]", candidate[1:], maxsplit=1)[0].rstrip(".")
    if re.fullmatch(r"[\d.]+", host):
        return bool(re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", host))
    return "." in host or host == "localhost"


def find_wallet(text: str) -> str | None:
    """The first wallet address written in `text`, as typed (without trailing punctuation)."""
    for match in _WALLET_RE.finditer(text or ""):
        candidate = match.group(1).rstrip(".,;:!?)»\"'")
        if _plausible_host(candidate):
            return candidate
    return None


def _internal_ip(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host == "localhost"
    return not address.is_global


def normalize(pointer: str, allow_http: bool) -> str:
    """`$host/path` → `https://host/path` (or http:// when allowed); URLs checked and tidied."""
    text = pointer.strip()
    if len(text) > MAX_URL:
        raise WalletError("invalid", pointer[:100])
    if text.startswith("$"):
        text = ("http://" if allow_http else "https://") + text[1:]
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, TypeError) as exc:
        raise WalletError("invalid", pointer) from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise WalletError("invalid", pointer)
    if url.scheme == "http" and not allow_http:
        raise WalletError("insecure", pointer)
    if url.userinfo or url.query or url.fragment:
        raise WalletError("invalid", pointer)
    if not allow_http and _internal_ip(url.host):
        # Outside the sandbox, a wallet on a private address is a probe of our network.
        raise WalletError("invalid", pointer)
    path = url.path.rstrip("/")
    if not path:
        path = "/.well-known/pay"  # what a bare `$host` pointer means in Open Payments
    return str(url.copy_with(path=path))


class WalletResolver:
    def __init__(self, allow_http: bool, timeout: float) -> None:
        self.allow_http = allow_http
        self.http = create_client(timeout=timeout, retries=2)

    async def resolve(self, pointer: str) -> WalletInfo:
        """Normalise and fetch the wallet address document; WalletError when it is not a wallet."""
        url = normalize(pointer, self.allow_http)
        try:
            response = await self.http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise WalletError("unreachable", url) from exc
        if response.status_code != 200 or len(response.content) > _MAX_DOCUMENT:
            raise WalletError("unreachable", url)
        try:
            doc = response.json()
            asset = str(doc["assetCode"])
            scale = int(doc["assetScale"])
            wallet_id = str(doc.get("id") or url)
        except (ValueError, KeyError, TypeError) as exc:
            raise WalletError("unreachable", url) from exc
        if not doc.get("authServer"):
            raise WalletError("unreachable", url)
        name = doc.get("publicName")
        return WalletInfo(
            url=wallet_id,
            asset_code=asset,
            asset_scale=scale,
            public_name=str(name) if name else None,
        )

    async def aclose(self) -> None:
        await self.http.aclose()
