"""A reverse proxy that fails the next N matching requests: `python -m tests.trust.fault_proxy
--port P`. The sandbox phone has no fault switch of its own, and a proxy needs none: it sits
where Meta's Graph API would be and answers 429 or 5xx the way Meta does when it is busy.

- `PUT /_proxy/target {"url": "http://127.0.0.1:Q"}`: where to forward (set after start-up,
  because the upstream often starts after the service that calls through the proxy);
- `POST /_proxy/faults {"status": 429, "count": 2, "method": "POST", "path": "/messages"}`:
  the next `count` requests whose method matches and whose path contains `path` get `status`;
- `GET /_proxy/log`: every request seen, `{method, path, status, injected}`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# Graph API error bodies as Meta sends them (code 4/80007: rate limits; 2: service unavailable).
_BODIES = {
    429: {"error": {"message": "(#80007) Rate limit hit", "type": "OAuthException", "code": 80007}},
    500: {"error": {"message": "An unknown error occurred", "type": "OAuthException", "code": 1}},
}


@dataclass
class Fault:
    status: int
    count: int
    method: str | None = None
    path: str = ""


@dataclass
class ProxyState:
    target: str = ""
    faults: list[Fault] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)

    def take(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.count > 0 and fault.method in (None, method) and fault.path in path:
                fault.count -= 1
                return fault
        return None


def create_app() -> Starlette:
    state = ProxyState()
    client = httpx.AsyncClient(timeout=30.0)

    async def set_target(request: Request) -> Response:
        state.target = str((await request.json())["url"]).rstrip("/")
        return JSONResponse({"target": state.target})

    async def add_fault(request: Request) -> Response:
        body = await request.json()
        state.faults.append(
            Fault(
                int(body["status"]),
                int(body.get("count", 1)),
                body.get("method"),
                body.get("path", ""),
            )
        )
        return JSONResponse({"faults": len(state.faults)}, status_code=201)

    async def show_log(_: Request) -> Response:
        return JSONResponse(state.log)

    async def forward(request: Request) -> Response:
        path = request.url.path
        fault = state.take(request.method, path)
        if fault is not None:
            state.log.append(
                {"method": request.method, "path": path, "status": fault.status, "injected": True}
            )
            body = _BODIES.get(fault.status, _BODIES[500])
            return JSONResponse(body, status_code=fault.status)
        upstream = await client.request(
            request.method,
            state.target + path,
            params=request.query_params,
            content=await request.body(),
            headers={
                k: v
                for k, v in request.headers.items()
                if k.lower() not in {"host", "content-length"}
            },
        )
        state.log.append(
            {
                "method": request.method,
                "path": path,
                "status": upstream.status_code,
                "injected": False,
            }
        )
        headers = {k: v for k, v in upstream.headers.items() if k.lower() in {"content-type"}}
        return Response(upstream.content, status_code=upstream.status_code, headers=headers)

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    return Starlette(
        routes=[
            Route("/_proxy/health", health),
            Route("/_proxy/target", set_target, methods=["PUT"]),
            Route("/_proxy/faults", add_fault, methods=["POST"]),
            Route("/_proxy/log", show_log),
            Route("/{path:path}", forward, methods=methods),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    uvicorn.run("tests.trust.fault_proxy:create_app", factory=True, port=port, log_level="warning")


if __name__ == "__main__":
    main()
