"""op_api: the Open Payments service. Wires the app; the concerns live in the modules beside it."""

from __future__ import annotations

from fastapi import FastAPI

from op_api.settings import Settings, get_settings
from shared.app import create_service_app
from shared.server import serve


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="op_api",
        settings=settings or get_settings,
        description="Open Payments client and payment state machine",
    )


app = create_app()


def run() -> None:
    serve("op_api.main:app", get_settings, "op_api")
