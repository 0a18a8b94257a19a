"""The httpx AsyncClient factory every service uses for outgoing calls.

Clients get sane timeouts, the current X-Request-ID on every request, an optional internal bearer
token, and retries with exponential backoff (tenacity) — but only for idempotent methods, so a
retry can never create a second payment.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from http.cookiejar import Cookie, CookieJar

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from shared.http1_transport import Http1Transport
from shared.request_id import HEADER as REQUEST_ID_HEADER
from shared.request_id import get_request_id

logger = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


@dataclass(frozen=True)
class RetryPolicy:
    """When and how a client retries.

    Connection errors are retried for `methods` only. A response in `statuses` is retried for
    `methods` too — or for every method when `any_method_on_status` is set, for servers whose
    429/5xx mean the call was not carried out (Meta's Graph API), so a POST cannot happen twice.
    Pauses grow exponentially from `backoff_initial` to `backoff_max`, with up to
    `backoff_jitter` seconds of jitter (default: `backoff_initial`); a Retry-After header in
    seconds is honoured, capped at `backoff_max`.
    """

    attempts: int = 3
    backoff_initial: float = 0.2
    backoff_max: float = 2.0
    backoff_jitter: float | None = None
    methods: frozenset[str] = IDEMPOTENT_METHODS
    statuses: frozenset[int] = RETRY_STATUSES
    any_method_on_status: bool = False


@cache
def default_ssl_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's CA bundle, SSL_CERT_FILE honoured), built once per
    process: each context holds its own parsed copy of the bundle (~0.6 MiB resident), and every
    transport used to build one."""
    return httpx.create_ssl_context()


def default_transport(max_connections: int | None = None) -> httpx.AsyncBaseTransport:
    """The transport every client uses unless it brings its own: HTTP/1.1 on asyncio streams,
    answers parsed by httptools, at a fraction of the CPU per call of httpx on httpcore (see
    `shared.http1_transport`). Beyond `max_connections`, requests wait their turn."""
    return Http1Transport(default_ssl_context(), max_connections)


class _RetryableStatus(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    logger.warning(
        "retrying outgoing call", extra={"attempt": state.attempt_number, "error": str(exc)}
    )


class RetryTransport(httpx.AsyncBaseTransport):
    """Wraps a transport and retries what `policy` allows (see `RetryPolicy`)."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport | None = None, policy: RetryPolicy | None = None
    ) -> None:
        self._inner = inner or default_transport()
        self._policy = policy or RetryPolicy()
        jitter = self._policy.backoff_jitter
        self._backoff = wait_exponential_jitter(
            multiplier=self._policy.backoff_initial,
            max=self._policy.backoff_max,
            jitter=self._policy.backoff_initial if jitter is None else jitter,
        )

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableStatus):
            after = exc.response.headers.get("retry-after", "")
            if after.isdigit():
                return min(float(after), self._policy.backoff_max)
        return float(self._backoff(state))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        policy = self._policy
        on_error = request.method in policy.methods
        on_status = on_error or policy.any_method_on_status
        if not on_status or policy.attempts <= 1:
            return await self._inner.handle_async_request(request)

        def retryable(exc: BaseException) -> bool:
            return isinstance(exc, _RetryableStatus) or (
                on_error and isinstance(exc, httpx.TransportError)
            )

        # The first try runs outside tenacity, whose bookkeeping (~25 µs a call, three calls per
        # WhatsApp message in ws_bot) is then paid only when a try fails and a retry is due.
        try:
            return await self._try(request)
        except Exception as exc:
            if not retryable(exc):
                raise
            failed: BaseException | None = exc
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(policy.attempts),
                wait=self._wait,
                retry=retry_if_exception(retryable),
                before_sleep=_log_retry,
                reraise=True,
            ):
                with attempt:
                    if failed is not None:  # tenacity's first attempt is the one above
                        first, failed = failed, None
                        raise first
                    return await self._try(request)
        except _RetryableStatus as exc:
            # Out of attempts: hand back the server's last answer rather than an exception.
            return exc.response
        raise AssertionError("unreachable")  # pragma: no cover

    async def _try(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if response.status_code in self._policy.statuses:
            await response.aread()
            await response.aclose()
            raise _RetryableStatus(response)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _KeepNothing(CookieJar):
    def set_cookie(self, cookie: Cookie) -> None:
        return None


class _NoCookies(httpx.Cookies):
    """Cookies that are never kept, so never sent; answers are not even read for them."""

    def __init__(self) -> None:
        super().__init__(_KeepNothing())

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


_NO_COOKIES = _NoCookies()


class CookielessClient(httpx.AsyncClient):
    """httpx's AsyncClient, keeping no cookies.

    A service's client is shared by every user's calls: a cookie one answer set would ride
    along on the next user's call to the same host, and no API called here (Graph, Open
    Payments, the internal services) uses cookies. Reading them cost work too: httpx builds a
    `urllib` request and response for every answer to look for Set-Cookie, about 5% of the
    ws_bot worker's CPU in a py-spy profile (bench/e2e_throughput), 15% of the instructions of
    a keep-alive call on `shared.http1_transport` (callgrind)."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("a CookielessClient keeps no cookies")


async def _add_request_id(request: httpx.Request) -> None:
    rid = get_request_id()
    if rid and REQUEST_ID_HEADER not in request.headers:
        request.headers[REQUEST_ID_HEADER] = rid


def create_client(
    *,
    base_url: str = "",
    bearer_token: str | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    retries: int = 3,
    headers: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    retry_methods: frozenset[str] = IDEMPOTENT_METHODS,
    retry: RetryPolicy | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient with timeouts, request-id propagation and idempotent-only retries.

    `bearer_token` adds `Authorization: Bearer …` (the internal token for service-to-service
    calls). `transport` lets tests and the Graph API routing plug in their own. `retries` and
    `retry_methods` adjust the default `RetryPolicy`; `retry` replaces it.
    """
    policy = retry or RetryPolicy(attempts=retries, methods=retry_methods)
    all_headers = dict(headers or {})
    if bearer_token:
        all_headers["Authorization"] = f"Bearer {bearer_token}"
    return CookielessClient(
        base_url=base_url,
        headers=all_headers,
        timeout=timeout,
        transport=RetryTransport(transport, policy),
        event_hooks={"request": [_add_request_id]},
    )
