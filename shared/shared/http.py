"""The httpx AsyncClient factory every service uses for outgoing calls.

Clients get sane timeouts, the current X-Request-ID on every request, an optional internal bearer
token, and retries with exponential backoff (tenacity) — but only for idempotent methods, so a
retry can never create a second payment.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from shared.request_id import HEADER as REQUEST_ID_HEADER
from shared.request_id import get_request_id

logger = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


class _RetryableStatus(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, _RetryableStatus | httpx.TransportError)


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    logger.warning(
        "retrying outgoing call", extra={"attempt": state.attempt_number, "error": str(exc)}
    )


class RetryTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; retries idempotent requests on connection errors and 429/502/503/504."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport | None = None,
        *,
        attempts: int = 3,
        backoff_initial: float = 0.2,
        backoff_max: float = 2.0,
        retry_methods: frozenset[str] = IDEMPOTENT_METHODS,
    ) -> None:
        self._inner = inner or httpx.AsyncHTTPTransport()
        self._attempts = attempts
        self._initial = backoff_initial
        self._max = backoff_max
        self._methods = retry_methods

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method not in self._methods or self._attempts <= 1:
            return await self._inner.handle_async_request(request)
        last_response: httpx.Response | None = None
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._attempts),
                wait=wait_exponential_jitter(
                    multiplier=self._initial, max=self._max, jitter=self._initial
                ),
                retry=retry_if_exception(_is_retryable),
                before_sleep=_log_retry,
                reraise=True,
            ):
                with attempt:
                    response = await self._inner.handle_async_request(request)
                    if response.status_code in RETRY_STATUSES:
                        last_response = response
                        await response.aread()
                        await response.aclose()
                        raise _RetryableStatus(response)
                    return response
        except _RetryableStatus:
            # Out of attempts: hand back the server's last answer rather than an exception.
            assert last_response is not None
            return last_response
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        await self._inner.aclose()


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
) -> httpx.AsyncClient:
    """An AsyncClient with timeouts, request-id propagation and idempotent-only retries.

    `bearer_token` adds `Authorization: Bearer …` (the internal token for service-to-service
    calls). `transport` lets tests and the Graph API routing plug in their own.
    """
    all_headers = dict(headers or {})
    if bearer_token:
        all_headers["Authorization"] = f"Bearer {bearer_token}"
    return httpx.AsyncClient(
        base_url=base_url,
        headers=all_headers,
        timeout=timeout,
        transport=RetryTransport(transport, attempts=retries, retry_methods=retry_methods),
        event_hooks={"request": [_add_request_id]},
    )
