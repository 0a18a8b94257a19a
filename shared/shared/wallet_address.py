"""Wallet addresses and payment pointers: the one rule every service applies.

Open Payments (payment pointers): `$wallet.example` means `https://wallet.example/.well-known/pay`
and `$wallet.example/alice` means `https://wallet.example/alice`. Plain `http://` is accepted only
where insecure HTTP is allowed (the sandbox); there a pointer means `http://…`, so a typed
pointer and the URL the sandbox prints agree.

A wallet address document is believed only about itself: its `id` must be on the origin it was
fetched from, and its `resourceServer` too (the resource server is what serves wallet addresses,
so a document naming a resource server elsewhere is steering our signed requests, and the tokens
they carry, to a host the user's wallet provider does not run). `authServer` may be elsewhere
(Rafiki runs it on its own host) but passes the same URL and address checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from shared.untrusted import UntrustedUrlError, check_host, origin

MAX_URL = 2000
WELL_KNOWN = "/.well-known/pay"
# `$host[:port][/path]`: host labels are separated by dots that the labels cannot contain, so
# matching is linear. A URL is `http(s)://` up to whitespace.
_POINTER = re.compile(
    r"\$(?P<host>[A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*\.?)(?::\d{1,5})?(?:/[^\s<>\"']*)?"
)
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRAIL = ".,;:!?)]}»\"'"
_DOTTED_QUAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_TLD = re.compile(r"[A-Za-z]{2,63}")


class WalletAddressError(ValueError):
    """`code`: `invalid` (not a wallet address), `insecure` (http:// not allowed here) or
    `address` (a host we do not call)."""

    def __init__(self, code: str, address: str, reason: str = "") -> None:
        super().__init__(f"{code}: {address[:200]}" + (f" ({reason})" if reason else ""))
        self.code = code
        self.address = address[:200]
        self.reason = reason


def plausible_pointer_host(host: str) -> bool:
    """`$20`, `$20.50` or `$20/month` are amounts, not wallets: a pointer's host is a domain
    name ending in letters, `localhost`, or a dotted-quad IP address."""
    host = host.rstrip(".")
    if host == "localhost" or _DOTTED_QUAD.fullmatch(host):
        return True
    labels = host.split(".")
    return len(labels) >= 2 and _TLD.fullmatch(labels[-1]) is not None


def wallet_address_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every pointer and http(s) URL in `text`, trailing punctuation trimmed."""
    spans: list[tuple[int, int]] = []
    for pattern in (_URL, _POINTER):
        for match in pattern.finditer(text):
            start, end = match.start(), match.end()
            while end > start and text[end - 1] in _TRAIL:
                end -= 1
            if pattern is _POINTER and not plausible_pointer_host(match.group("host")):
                continue
            if any(s <= start < e or start <= s < end for s, e in spans):
                continue
            spans.append((start, end))
    return sorted(spans)


def find_wallet_address(text: str) -> str | None:
    """The first wallet address written in `text`, as typed (without trailing punctuation)."""
    spans = wallet_address_spans(text or "")
    return text[spans[0][0] : spans[0][1]] if spans else None


def _checked(url: httpx.URL, written: str, *, allow_http: bool) -> None:
    if url.scheme not in ("http", "https") or not url.host:
        raise WalletAddressError("invalid", written, "not an http(s) URL")
    if url.scheme == "http" and not allow_http:
        raise WalletAddressError("insecure", written, "Open Payments requires https")
    if url.userinfo or url.fragment:
        raise WalletAddressError("invalid", written, "no user name or fragment allowed")
    try:
        check_host(url.host, allow_private=allow_http)
    except UntrustedUrlError as exc:
        raise WalletAddressError("address", written, str(exc)) from exc


def _parse(text: str, written: str) -> httpx.URL:
    if len(text) > MAX_URL:
        raise WalletAddressError("invalid", written, "too long")
    try:
        return httpx.URL(text)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise WalletAddressError("invalid", written, str(exc)) from exc


def to_url(address: str, *, allow_http: bool) -> str:
    """A pointer or URL → the wallet address URL every service uses (or WalletAddressError)."""
    text = address.strip()
    if text.startswith("$"):
        text = ("http://" if allow_http else "https://") + text[1:]
    url = _parse(text, address)
    _checked(url, address, allow_http=allow_http)
    if url.query:
        raise WalletAddressError("invalid", address, "a wallet address has no query")
    path = url.path.rstrip("/") or WELL_KNOWN
    return str(url.copy_with(path=path))


def server_url(url: str, *, allow_http: bool) -> str:
    """An `authServer`/`resourceServer` from a wallet document, checked like a wallet address."""
    parsed = _parse(url.strip(), url)
    _checked(parsed, url, allow_http=allow_http)
    return str(parsed).rstrip("/")


def same_origin(a: str, b: str) -> bool:
    return origin(a) == origin(b)


@dataclass(frozen=True)
class WalletServers:
    """What a wallet address document says about where the wallet lives (all checked)."""

    id: str
    auth_server: str
    resource_server: str


def check_document(
    fetched_from: str,
    *,
    id: str | None,
    auth_server: str,
    resource_server: str | None,
    allow_http: bool,
) -> WalletServers:
    """The document fetched from `fetched_from`, believed only about its own origin.

    A missing `id` means the URL itself; a missing `resourceServer` means the wallet's origin.
    """
    wallet_id = to_url(id, allow_http=allow_http) if id else fetched_from
    if not same_origin(wallet_id, fetched_from):
        raise WalletAddressError(
            "invalid", fetched_from, f"the document names another wallet ({wallet_id[:200]})"
        )
    auth = server_url(auth_server, allow_http=allow_http)
    resource = server_url(resource_server, allow_http=allow_http) if resource_server else None
    if resource is not None and not same_origin(resource, wallet_id):
        raise WalletAddressError(
            "invalid", fetched_from, f"its resourceServer is on another host ({resource[:200]})"
        )
    home = str(httpx.URL(wallet_id).copy_with(path="/")).rstrip("/")
    return WalletServers(id=wallet_id, auth_server=auth, resource_server=resource or home)
