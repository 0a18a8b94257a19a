"""ws_bot: the WhatsApp gateway. Wires the app; the concerns live in the modules beside it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shared.app import create_service_app
from shared.http import create_client
from shared.server import serve
from ws_bot.settings import Settings, get_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    token = settings.internal_api_token.get_secret_value()
    async with (
        create_client(base_url=settings.llm_backend, bearer_token=token) as llm,
        create_client(base_url=settings.op_backend, bearer_token=token) as op,
    ):

        async def llm_ready() -> bool:
            return (await llm.get("/health")).status_code == 200

        async def op_ready() -> bool:
            return (await op.get("/health")).status_code == 200

        app.state.ready_checks.update({"llm_back": llm_ready, "op_api": op_ready})
        yield


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="ws_bot",
        settings=settings or get_settings,
        lifespan=lifespan,
        description="WhatsApp gateway for Paguito payments",
    )


app = create_app()


def run() -> None:
    serve("ws_bot.main:app", get_settings, "ws_bot")
