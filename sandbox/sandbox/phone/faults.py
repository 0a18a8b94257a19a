"""Graph API fault switches for the sandbox phone: Meta's busy answers, on demand.

- `POST /_faults {"status": 429, "count": 1, "method": "POST", "path": "/messages"}`: the next
  `count` Graph API calls whose method matches (any when omitted) and whose path contains
  `path` (any when omitted) get `status` with the error body Meta sends (429: code 80007, rate
  limit hit; 5xx: code 1 or 2, unknown error / service unavailable);
- `GET /_faults`: `{armed: [...], injected: [{method, path, status}, ...]}`;
  `DELETE /_faults` disarms everything and forgets what was injected.

Only the Graph side (`/v{version}/…` and media downloads) is affected; the user-side API, the
chat page and webhooks to the bot never are. Used by tests/trust to check ws_bot retries.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

_GRAPH_PATH = re.compile(r"^/(v\d+(\.\d+)?|download)/")
_BODIES = {
    429: (80007, "Rate limit hit"),
    500: (1, "An unknown error occurred"),
    503: (2, "Service temporarily unavailable"),
}


@dataclass
class GraphFault:
    status: int
    count: int
    method: str | None = None
    path: str = ""

    def matches(self, method: str, path: str) -> bool:
        return self.count > 0 and self.method in (None, method) and self.path in path


@dataclass
class GraphFaults:
    armed: list[GraphFault] = field(default_factory=list)
    injected: list[dict[str, Any]] = field(default_factory=list)

    def take(self, method: str, path: str) -> GraphFault | None:
        for fault in self.armed:
            if fault.matches(method, path):
                fault.count -= 1
                if fault.count == 0:
                    self.armed.remove(fault)
                self.injected.append({"method": method, "path": path, "status": fault.status})
                return fault
        return None


def _error(status: int) -> JSONResponse:
    code, message = _BODIES.get(status, _BODIES[500])
    body = {
        "error": {
            "message": f"(#{code}) {message}",
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "sandbox-fault",
        }
    }
    return JSONResponse(body, status_code=status)


class _ApplyFaults:
    """Answers a Graph API call with the armed fault that matches it, if any.

    Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs every
    request (webhook status deliveries and the chat page's polling included) through a task
    group and memory streams, which showed as a tenth of the phone's CPU in a py-spy profile
    of bench/e2e_throughput, where the phone plays Meta on the same two cores as the bot.
    """

    def __init__(self, app: ASGIApp, faults: GraphFaults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _GRAPH_PATH.match(scope["path"]):
            fault = self.faults.take(scope["method"], scope["path"])
            if fault is not None:
                await _error(fault.status)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> GraphFaults:
    """Add the `/_faults` switch and the middleware that applies it to Graph API calls."""
    faults = GraphFaults()
    app.add_middleware(_ApplyFaults, faults=faults)

    @app.post("/_faults", status_code=201, include_in_schema=False)
    async def arm(request: Request) -> JSONResponse:
        body = await request.json()
        status, count = body.get("status", 500), body.get("count", 1)
        method, path = body.get("method"), body.get("path", "")
        if not isinstance(status, int) or not 400 <= status <= 599:
            return JSONResponse({"detail": "status must be a 4xx or 5xx code"}, 400)
        if not isinstance(count, int) or count < 1:
            return JSONResponse({"detail": "count must be at least 1"}, 400)
        if not isinstance(method, str | None) or not isinstance(path, str):
            return JSONResponse({"detail": "method and path must be strings"}, 400)
        fault = GraphFault(status, count, method.upper() if method else None, path)
        faults.armed.append(fault)
        return JSONResponse(asdict(fault), 201)

    @app.get("/_faults", include_in_schema=False)
    async def show() -> dict[str, Any]:
        return {"armed": [asdict(f) for f in faults.armed], "injected": faults.injected}

    @app.delete("/_faults", status_code=204, include_in_schema=False)
    async def disarm() -> Response:
        faults.armed.clear()
        faults.injected.clear()
        return Response(status_code=204)

    return faults
