"""llm_back: understanding. Wires the app; the concerns live in the modules beside it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from llm_back.media import InputError, MediaLoader
from llm_back.openai_path import OpenAIBackend
from llm_back.settings import Settings, get_settings
from llm_back.understand import Understander
from shared.app import create_service_app
from shared.auth import InternalAuth
from shared.contracts import ErrorBody, UnderstandRequest, UnderstandResponse
from shared.http import create_client
from shared.server import serve

logger = logging.getLogger(__name__)
VERSION = "0.1.0"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # the OpenAI SDK's client: one line/call
    client = create_client(timeout=settings.openai_timeout_seconds)
    backend = OpenAIBackend(settings) if settings.openai_enabled else None
    app.state.understander = Understander(settings, MediaLoader(settings, client), backend)
    logger.info("understanding mode", extra={"openai": backend is not None})
    try:
        yield
    finally:
        if backend is not None:
            await backend.close()
        await client.aclose()


def create_app(settings: Settings | None = None) -> FastAPI:
    app = create_service_app(
        name="llm_back",
        settings=settings or get_settings,
        lifespan=_lifespan,
        version=VERSION,
        description="Understands text, voice notes and receipts; holds no payment authority",
    )

    @app.get("/", tags=["ops"], summary="Liveness (same as /health)")
    async def root() -> dict[str, str]:
        return {"status": "ok", "service": "llm_back", "version": VERSION}

    @app.post(
        "/webhook/whatsapp",
        dependencies=[InternalAuth],
        response_model=UnderstandResponse,
        response_model_exclude_none=True,
        response_model_by_alias=True,
        summary="Understand one WhatsApp message (text, voice note or receipt photo)",
        responses={
            401: {"model": ErrorBody},
            413: {"model": ErrorBody},
            415: {"model": ErrorBody},
            422: {"model": ErrorBody},
        },
    )
    async def understand(body: UnderstandRequest, request: Request) -> UnderstandResponse:
        understander: Understander = request.app.state.understander
        return await understander.handle(body)

    @app.exception_handler(InputError)
    async def _bad_input(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    return app


app = create_app()


def run() -> None:
    serve("llm_back.main:app", get_settings, "llm_back")
