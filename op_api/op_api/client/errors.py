"""Typed errors carrying what the server said (`code`, `description`), never a token."""

from __future__ import annotations

from typing import Any

import httpx


class OpenPaymentsError(Exception):
    """Base of every error this client raises."""


class OpenPaymentsTransportError(OpenPaymentsError):
    """The server could not be reached (connection refused, timeout, TLS).

    `maybe_delivered` is False only when the request certainly never left (no connection), so
    a non-idempotent call may be retried; otherwise its outcome is unknown.
    """

    def __init__(self, message: str, *, maybe_delivered: bool = True) -> None:
        super().__init__(message)
        self.maybe_delivered = maybe_delivered


class InvalidResponseError(OpenPaymentsError):
    """The server answered, but not with the document the protocol promises."""


class OpenPaymentsHTTPError(OpenPaymentsError):
    """A 4xx/5xx answer. `code` is the server's error code (`invalid_client`, `too_fast`, …)."""

    def __init__(
        self,
        *,
        method: str,
        url: str,
        status: int,
        code: str | None,
        description: str | None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.code = code
        self.description = description
        self.details = details or {}
        summary = f"{method} {url} → {status}"
        if code:
            summary += f" {code}"
        if description:
            summary += f": {description}"
        super().__init__(summary)


class InvalidClient(OpenPaymentsHTTPError):
    """`invalid_client`: the server could not identify or verify our key/signature."""


class InvalidRequest(OpenPaymentsHTTPError):
    """`invalid_request`: the body or parameters were refused."""


class RequestDenied(OpenPaymentsHTTPError):
    """`request_denied`: the user rejected the grant, or it can no longer be continued."""


class TooFast(OpenPaymentsHTTPError):
    """`too_fast`: a continuation polled before `wait` seconds had passed."""


class InvalidContinuation(OpenPaymentsHTTPError):
    """`invalid_continuation`: unknown continuation URI or token."""


class InvalidRotation(OpenPaymentsHTTPError):
    """`invalid_rotation`: the token cannot be rotated."""


class Unauthorized(OpenPaymentsHTTPError):
    """401 without a more specific code (missing/expired access token)."""


class Forbidden(OpenPaymentsHTTPError):
    """403: the token is inactive or does not allow this (e.g. a grant limit is spent)."""


class NotFound(OpenPaymentsHTTPError):
    """404: no such resource."""


_BY_CODE: dict[str, type[OpenPaymentsHTTPError]] = {
    "invalid_client": InvalidClient,
    "invalid_request": InvalidRequest,
    "request_denied": RequestDenied,
    "too_fast": TooFast,
    "invalid_continuation": InvalidContinuation,
    "invalid_rotation": InvalidRotation,
}
_BY_STATUS: dict[int, type[OpenPaymentsHTTPError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
}


def _parse_error_body(response: httpx.Response) -> tuple[str | None, str | None, dict[str, Any]]:
    """Both shapes in the wild: `{"error": {"code", "description"}}` and `{"error": "code"}`."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return None, text[:300] or None, {}
    if not isinstance(body, dict):
        return None, None, {}
    error = body.get("error")
    if isinstance(error, dict):
        code = error.get("code")
        description = error.get("description")
        details = error.get("details")
        return (
            code if isinstance(code, str) else None,
            description if isinstance(description, str) else None,
            details if isinstance(details, dict) else {},
        )
    if isinstance(error, str):
        description = body.get("error_description") or body.get("message")
        return error, description if isinstance(description, str) else None, {}
    message = body.get("message")
    return None, message if isinstance(message, str) else None, {}


def error_from_response(response: httpx.Response) -> OpenPaymentsHTTPError:
    code, description, details = _parse_error_body(response)
    # A 5xx is the server failing, never its decision: a `request_denied` in a 500 body must not
    # read as the user rejecting the grant (the continuation is simply tried again later).
    by_code = _BY_CODE.get(code or "") if response.status_code < 500 else None
    cls = by_code or _BY_STATUS.get(response.status_code, OpenPaymentsHTTPError)
    return cls(
        method=response.request.method,
        url=str(response.request.url.copy_with(query=None)),
        status=response.status_code,
        code=code,
        description=description,
        details=details,
    )
