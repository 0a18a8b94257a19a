"""llm_back: understanding. Wires the app; the concerns live in the modules beside it."""

from __future__ import annotations

from fastapi import FastAPI

from llm_back.settings import Settings, get_settings
from shared.app import create_service_app
from shared.server import serve


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="llm_back",
        settings=settings or get_settings,
        description="Understands text, voice notes and receipts; holds no payment authority",
    )


app = create_app()


def run() -> None:
    serve("llm_back.main:app", get_settings, "llm_back")
