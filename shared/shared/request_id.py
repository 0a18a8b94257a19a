"""The X-Request-ID of the request being handled, and the middleware that sets it.

A request id is taken from the incoming `X-Request-ID` header (when it looks sane) or created,
stored in a context variable for the duration of the request, echoed on the response, logged
on every line (see `shared.logging`) and sent on every outgoing internal call (see `shared.http`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
HEADER_BYTES = HEADER.lower().encode()  # as ASGI scopes carry header names
# Ids come from outside: accept only short, printable tokens so a header cannot inject log lines.
_VALID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def get_request_id() -> str | None:
    """The id of the request being handled, or None outside a request."""
    return _current.get()


def accept_request_id(candidate: str | None) -> str:
    """Return `candidate` if it is a well-formed id, else a fresh one."""
    if candidate and _VALID.match(candidate):
        return candidate
    return new_request_id()


@contextmanager
def request_id_scope(request_id: str | None = None) -> Iterator[str]:
    """Run a block (a background job, a worker step) under a request id."""
    rid = accept_request_id(request_id)
    token = _current.set(rid)
    try:
        yield rid
    finally:
        _current.reset(token)


def with_request_id(headers: list[tuple[bytes, bytes]], rid: str) -> list[tuple[bytes, bytes]]:
    """Response headers carrying `rid` as the one X-Request-ID."""
    return [*(h for h in headers if h[0].lower() != HEADER_BYTES), (HEADER_BYTES, rid.encode())]


class RequestIdMiddleware:
    """The request id alone, for apps outside `shared.app.create_service_app` (whose
    `ServiceMiddleware` does this together with the rest). Pure ASGI middleware (no
    BaseHTTPMiddleware) so the context var reaches every handler."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", []):
            if name == HEADER_BYTES:
                incoming = value.decode("latin-1")
                break
        with request_id_scope(incoming) as rid:

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = with_request_id(message.get("headers", []), rid)
                await send(message)

            await self.app(scope, receive, send_with_id)
