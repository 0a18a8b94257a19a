"""ws_bot: the WhatsApp gateway. Wires the app; the concerns live in the modules beside it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shared.app import create_service_app
from shared.server import serve
from ws_bot.background import Background
from ws_bot.graph import build_whatsapp
from ws_bot.settings import Settings, get_settings
from ws_bot.store import Store
from ws_bot.webhook import router


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    store = await Store.open(settings.database_url, settings.sqlite_path)
    await store.create()
    # The leases a previous run under the same replica id left behind.
    await store.inbox.release_leases(settings.replica_id)
    await store.payments.release_leases(settings.replica_id)
    # This loop serves the webhook (its pywa client only checks signatures); everything after
    # the ack runs on the background loop (ws_bot.background).
    wa, graph_session = build_whatsapp(settings)
    background = Background(settings, store)
    await background.start()
    app.state.store, app.state.wa, app.state.background = store, wa, background
    app.state.ready_checks.update({name: background.check(name) for name in ("llm_back", "op_api")})
    try:
        yield
    finally:
        await background.stop()
        await graph_session.aclose()
        await store.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    app = create_service_app(
        name="ws_bot",
        settings=settings or get_settings,
        lifespan=lifespan,
        description="WhatsApp gateway for Paguito payments",
        # The only public service: its operational endpoints need the internal token.
        protect_ops=True,
    )
    app.include_router(router)
    return app


app = create_app()


def run() -> None:
    serve("ws_bot.main:app", get_settings, "ws_bot")
