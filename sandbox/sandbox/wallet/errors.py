"""Error answers shaped the way Rafiki shapes them.

The auth server answers `{"error": {"code": "<gnap code>", "description": ...}}`; the resource
server answers `{"error": {"code": "<http status>", "description": ..., "details"?: ...}}` and,
on 401/403, a `WWW-Authenticate: GNAP as_uri=<auth server>` header.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

logger = logging.getLogger(__name__)


class GNAPError(Exception):
    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description


class RSError(Exception):
    def __init__(self, status: int, description: str, details: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.details = details


def gnap_body(code: str, description: str) -> dict[str, Any]:
    return {"error": {"code": code, "description": description}}


def rs_body(status: int, description: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": str(status), "description": description}
    if details:
        error["details"] = details
    return {"error": error}


def install_handlers(app: FastAPI, auth_url: str) -> None:
    @app.exception_handler(GNAPError)
    async def _gnap(request: Request, exc: GNAPError) -> JSONResponse:
        # Refusals are the sandbox's main output for client developers: say why in the log.
        logger.info(
            "refused",
            extra={
                "path": request.url.path,
                "status": exc.status,
                "code": exc.code,
                "description": exc.description,
            },
        )
        return JSONResponse(gnap_body(exc.code, exc.description), status_code=exc.status)

    @app.exception_handler(RSError)
    async def _rs(request: Request, exc: RSError) -> JSONResponse:
        logger.info(
            "refused",
            extra={
                "path": request.url.path,
                "status": exc.status,
                "description": exc.description,
                "details": exc.details,
            },
        )
        headers = (
            {"WWW-Authenticate": f"GNAP as_uri={auth_url}"} if exc.status in {401, 403} else {}
        )
        return JSONResponse(
            rs_body(exc.status, exc.description, exc.details),
            status_code=exc.status,
            headers=headers,
        )
