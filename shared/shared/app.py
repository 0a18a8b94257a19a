"""The FastAPI factory every service starts from.

It wires what all three services share: settings loaded at start-up (a clear error if they are
wrong), JSON logging, one middleware for the request id, the access-log line, the metrics and a
body-size limit (413), `/health`, `/ready` and `/metrics`, and error bodies that are always
`{"detail": "..."}` — never a stack trace, never a secret.

A service reachable from the internet (ws_bot) passes `protect_ops=True`: `/ready`, `/metrics`,
`/docs` and `/openapi.json` then need the internal token, and only `/health` stays public.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.routing import iter_route_contexts
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import InternalAuth
from shared.logging import configure_logging
from shared.request_id import HEADER_BYTES, request_id_scope, with_request_id
from shared.settings import ServiceSettings

logger = logging.getLogger("paguito.access")
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

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


def quiet_access_log(endpoint: Endpoint) -> Endpoint:
    """Mark a route whose successful answers are logged at DEBUG only (webhook acks: hundreds a
    second, each one already counted in the metrics). Failures are still logged at INFO."""
    endpoint.__dict__["paguito_quiet"] = True
    return endpoint


def answered_directly(endpoint: Endpoint) -> Endpoint:
    """Mark a route that `ServiceMiddleware` answers itself, past FastAPI's routing layers.

    For the hottest route only (the webhook ack): below the middleware, FastAPI's exception,
    exit-stack, router and endpoint layers cost about twice the ack's own work (verify, store,
    200) in a py-spy profile of ws_bot (bench/webhook_ack). The route stays declared as usual,
    so the OpenAPI document is unchanged, and FastAPI still serves it when a body comes without
    a Content-Length. The endpoint must take the `Request` alone, with no dependencies, and
    return a `Response`; an `HTTPException` it raises is answered as FastAPI would.
    """
    endpoint.__dict__["paguito_direct"] = True
    return endpoint


def direct_routes(routes: Iterable[BaseRoute]) -> dict[tuple[str, str], ASGIApp]:
    """(method, path) → an ASGI app calling the endpoint, for routes `answered_directly`.

    Routes are read through `iter_route_contexts`, as FastAPI's own OpenAPI generator reads them:
    a router added with `include_router` is one entry of `app.router.routes` whose routes (and
    prefix) only that iterator shows."""
    table: dict[tuple[str, str], ASGIApp] = {}
    for route in iter_route_contexts(list(routes)):
        endpoint, path = route.endpoint, route.path
        if endpoint is not None and path is not None and getattr(endpoint, "paguito_direct", False):
            app = _call_directly(endpoint)
            for method in route.methods or ():
                table[(method, path)] = app
    return table


def _call_directly(endpoint: Callable[[Request], Awaitable[Response]]) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await endpoint(request)
        except HTTPException as exc:
            response = await http_exception_handler(request, exc)
        await response(scope, receive, send)

    app.__dict__.update(endpoint.__dict__)  # paguito_quiet
    return app


class ServiceMiddleware:
    """Everything a request passes through, in one ASGI layer: the request id (context variable
    and response header), the body-size limit (413), the metrics, the access line, and a clean
    500 for anything unhandled.

    One layer instead of three nested ones: each layer wrapped `send` again and re-scanned the
    headers, and that showed in the per-request cost of the webhook ack (bench/webhook_ack).
    Routes marked `answered_directly` (the ack) it answers itself, past FastAPI's routing.
    """

    def __init__(
        self,
        app: ASGIApp,
        service: str,
        max_bytes: Callable[[], int],
        routes: Callable[[], Iterable[BaseRoute]] = list,
    ) -> None:
        self.app = app
        self.service = service
        self.max_bytes = max_bytes
        self._routes = routes
        self._direct: dict[tuple[str, str], ASGIApp] | None = None  # built at the first request
        # prometheus_client's labels() validates and locks on every call; children are cached.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _record(self, method: str, route: str, status: int, elapsed: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                HTTP_REQUESTS.labels(self.service, method, route, str(status)),
                HTTP_LATENCY.labels(self.service, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(elapsed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming_id = None
        length = None
        for name, value in scope["headers"]:
            if name == HEADER_BYTES:
                incoming_id = value.decode("latin-1")
            elif name == b"content-length":
                length = value
        limit = self.max_bytes()
        status = 500
        responded = False
        if self._direct is None:
            self._direct = direct_routes(self._routes())
        direct = self._direct.get((scope["method"], scope["path"]))
        with request_id_scope(incoming_id) as rid:

            async def send_with_id(message: Message) -> None:
                nonlocal status, responded
                if message["type"] == "http.response.start":
                    status = message["status"]
                    responded = True
                    message["headers"] = with_request_id(message.get("headers", []), rid)
                await send(message)

            try:
                if length is not None and length.isdigit() and int(length) > limit:
                    await _too_large(limit, send_with_id)
                elif length is not None and length.isdigit():
                    # The server never hands the app more than Content-Length: nothing to count.
                    await (direct or self.app)(scope, receive, send_with_id)
                else:
                    await _limited(self.app, scope, receive, send_with_id, limit)
            except Exception:
                # Caught here, inside the request-id scope, rather than by Starlette's outermost
                # error middleware, so the 500 carries the request id and the log line has it.
                logger.exception("unhandled error")
                if not responded:
                    await _send_json(
                        send_with_id,
                        500,
                        {
                            "detail": "Internal error; the request id identifies it in the logs.",
                            "requestId": rid,
                        },
                    )
            finally:
                elapsed = time.perf_counter() - started
                route_object = scope.get("route")
                endpoint: object = direct
                if direct is not None and route_object is None:
                    route = scope["path"]
                else:
                    route = getattr(route_object, "path", None) or "unmatched"
                    endpoint = getattr(route_object, "endpoint", None)
                self._record(scope["method"], route, status, elapsed)
                # Probes and marked routes (see quiet_access_log) stay out of INFO when fine.
                quiet = route in _QUIET_ROUTES or getattr(endpoint, "paguito_quiet", False)
                level = logging.DEBUG if quiet and status < 400 else logging.INFO
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


async def _limited(app: ASGIApp, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    """Run `app` on a body of unknown length, answering 413 once it passes `limit` bytes."""
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
        await app(scope, counting_receive, replacing_send)
    except Exception:
        if not too_large:
            raise
        if not replaced:
            await _too_large(limit, send)


class BodySizeLimitMiddleware:
    """The body-size limit alone, for apps outside `create_service_app` (the sandbox wallet)."""

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
        await _limited(self.app, scope, receive, send, limit)


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

    known: list[int] = []  # read once from the settings: asked on every request

    def _limit() -> int:
        if known:
            return known[0]
        loaded = getattr(app.state, "settings", None)
        if loaded is None:
            return 1_048_576  # before start-up has loaded the settings
        known.append(loaded.max_body_bytes)
        return known[0]

    app.add_middleware(
        ServiceMiddleware, service=name, max_bytes=_limit, routes=lambda: app.router.routes
    )

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
