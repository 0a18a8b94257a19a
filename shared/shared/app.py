"""The FastAPI factory every service starts from.

It wires what all three services share: settings loaded at start-up (a clear error if they are
wrong), JSON logging, the request-id middleware, one access-log line and metrics per request,
a body-size limit (413), `/health`, `/ready` and `/metrics`, and error bodies that are always
`{"detail": "..."}` — never a stack trace, never a secret.

A service reachable from the internet (ws_bot) passes `protect_ops=True`: `/ready`, `/metrics`,
`/docs` and `/openapi.json` then need the internal token, and only `/health` stays public.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import InternalAuth
from shared.logging import configure_logging
from shared.request_id import RequestIdMiddleware, get_request_id
from shared.settings import ServiceSettings

logger = logging.getLogger("paguito.access")

ReadyCheck = Callable[[], Awaitable[object]]
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

HTTP_REQUESTS = Counter(
    "paguito_http_requests_total",
    "HTTP requests handled",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "paguito_http_request_duration_seconds",
    "Time to handle an HTTP request",
    ["service", "route"],
)
READY_CHECK_SECONDS = 3.0
_QUIET_ROUTES = frozenset({"/health", "/metrics"})


class ObservabilityMiddleware:
    """One access-log line and the request metrics, labelled by route template."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        responded = False

        async def capture(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status = message["status"]
                responded = True
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except Exception:
            # Caught here, inside the request-id scope, rather than by Starlette's outermost
            # error middleware, so the 500 carries the request id and the log line has it too.
            logger.exception("unhandled error")
            if not responded:
                status = 500
                await _send_json(
                    send,
                    500,
                    {
                        "detail": "Internal error; the request id identifies it in the logs.",
                        "requestId": get_request_id(),
                    },
                )
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            HTTP_REQUESTS.labels(self.service, scope["method"], route, str(status)).inc()
            HTTP_LATENCY.labels(self.service, route).observe(elapsed)
            # Health and metrics probes arrive every few seconds: DEBUG keeps them out of INFO.
            level = logging.DEBUG if route in _QUIET_ROUTES else logging.INFO
            if logger.isEnabledFor(level):
                logger.log(
                    level,
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )


class BodySizeLimitMiddleware:
    """Refuse request bodies over `max_bytes` with 413, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, max_bytes: Callable[[], int]) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes()
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _too_large(limit, send)
                return
        received = 0
        too_large = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    # Stop feeding the app; whatever it answers is replaced by the 413 below.
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        replaced = False

        async def replacing_send(message: Message) -> None:
            nonlocal replaced
            if too_large:
                if message["type"] == "http.response.start" and not replaced:
                    replaced = True
                    await _too_large(limit, send)
                return
            await send(message)

        try:
            await self.app(scope, counting_receive, replacing_send)
        except Exception:
            if not too_large:
                raise
            if not replaced:
                await _too_large(limit, send)


async def _too_large(limit: int, send: Send) -> None:
    await _send_json(send, 413, {"detail": f"Request body too large: the limit is {limit} bytes."})


async def _send_json(send: Send, status: int, body: dict[str, object]) -> None:
    response = JSONResponse(body, status_code=status)
    await send({"type": "http.response.start", "status": status, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


def create_service_app(
    *,
    name: str,
    settings: ServiceSettings | Callable[[], ServiceSettings],
    lifespan: Lifespan | None = None,
    version: str = "0.1.0",
    description: str = "",
    protect_ops: bool = False,
) -> FastAPI:
    """Build a service app. `settings` may be a factory: it then runs at start-up, not import.

    `protect_ops`: the operational endpoints other than `/health` need the internal token.

    Services register readiness checks in `app.state.ready_checks[name] = async_fn` (raise or
    return False when the dependency is unreachable).
    """

    @asynccontextmanager
    async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
        loaded = settings() if callable(settings) else settings
        app.state.settings = loaded
        configure_logging(name, loaded.log_level)
        logger.info("starting", extra={"port": loaded.port})
        if lifespan is None:
            yield
        else:
            async with lifespan(app):
                yield
        logger.info("stopped")

    app = FastAPI(
        title=name,
        version=version,
        description=description,
        lifespan=_lifespan,
        # FastAPI answers 400 itself when a body cannot be decoded at all (bytes that are not
        # UTF-8 JSON), before any route runs: documented once here for every operation.
        responses={400: {"description": "The request body could not be parsed"}},
        # Protected: served below behind the internal token instead.
        docs_url=None if protect_ops else "/docs",
        redoc_url=None if protect_ops else "/redoc",
        openapi_url=None if protect_ops else "/openapi.json",
    )
    ops_auth = [InternalAuth] if protect_ops else []
    app.state.service_name = name
    app.state.ready_checks = {}
    if not callable(settings):
        app.state.settings = settings

    def _limit() -> int:
        loaded = getattr(app.state, "settings", None)
        return loaded.max_body_bytes if loaded is not None else 1_048_576

    app.add_middleware(BodySizeLimitMiddleware, max_bytes=_limit)
    app.add_middleware(ObservabilityMiddleware, service=name)
    app.add_middleware(RequestIdMiddleware)

    @app.get("/health", tags=["ops"], summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": name, "version": version}

    @app.get(
        "/ready",
        tags=["ops"],
        summary="Readiness: dependencies reachable",
        responses={503: {"description": "A dependency is unreachable"}},
        dependencies=ops_auth,
    )
    async def ready(request: Request) -> JSONResponse:
        checks: dict[str, ReadyCheck] = request.app.state.ready_checks
        results = await asyncio.gather(*(_run_check(c) for c in checks.values()))
        report = dict(zip(checks, results, strict=True))
        ok = all(r == "ok" for r in report.values())
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "checks": report},
            status_code=200 if ok else 503,
        )

    # PlainTextResponse documents text/plain in the OpenAPI (Prometheus' format is text).
    @app.get(
        "/metrics",
        tags=["ops"],
        summary="Prometheus metrics",
        response_class=PlainTextResponse,
        dependencies=ops_auth,
    )
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    if protect_ops:

        @app.get("/openapi.json", include_in_schema=False, dependencies=ops_auth)
        async def openapi() -> JSONResponse:
            return JSONResponse(app.openapi())

        @app.get("/docs", include_in_schema=False, dependencies=ops_auth)
        async def docs() -> HTMLResponse:
            # The page fetches /openapi.json itself: open it through a proxy that adds the token.
            return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{name} API")

    return app


async def _run_check(check: ReadyCheck) -> str:
    try:
        async with asyncio.timeout(READY_CHECK_SECONDS):
            result: Any = await check()
    except Exception as exc:
        # Name the failure class only: messages can embed URLs with credentials.
        return f"error: {type(exc).__name__}"
    return "ok" if result is not False else "error: unavailable"
