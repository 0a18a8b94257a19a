"""URL normalization: the `@target-uri` we sign must be the URL the server reconstructs.

Servers (Rafiki, via Node's URL) see lower-case scheme and host, no default port, and `/` for an
empty path. httpx already does the first two; the empty path is ours to fix.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx


class InsecureUrlError(ValueError):
    """An `http://` URL where only `https://` is allowed."""


def normalize_url(url: str | httpx.URL) -> str:
    """`HTTP://Example.com:443` → `https://example.com/`; query kept, fragment dropped."""
    parsed = httpx.URL(str(url))
    if not parsed.scheme or not parsed.host:
        raise ValueError(f"not an absolute URL: {str(url)[:200]!r}")
    if parsed.scheme not in {"http", "https"}:
        raise ValueError(f"unsupported URL scheme {parsed.scheme!r}")
    parsed = parsed.copy_with(fragment=None)
    # httpx reports "/" as the path of "https://host" but prints it without one: force it.
    if not urlsplit(str(parsed)).path:
        parsed = parsed.copy_with(path="/")
    return str(parsed)


def join_url(base: str, path: str) -> str:
    """`https://rs.example/alice/` + `/quotes` → `https://rs.example/alice/quotes` (no `//`)."""
    return base.rstrip("/") + "/" + path.lstrip("/")


def ensure_allowed(url: str, *, allow_insecure_http: bool) -> str:
    """Normalize `url`; refuse plain HTTP unless explicitly allowed (local sandboxes only)."""
    normalized = normalize_url(url)
    if normalized.startswith("http://") and not allow_insecure_http:
        raise InsecureUrlError(
            f"{normalized} uses plain HTTP; Open Payments requires https "
            "(set ALLOW_INSECURE_HTTP=true only for a local sandbox)"
        )
    return normalized
