"""op_api: the Open Payments service. Wires the app; the concerns live in the modules beside it."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from op_api.api import router
from op_api.deps import Deps
from op_api.links_api import router as links_router
from op_api.payment_requests import router as payment_requests_router
from op_api.platform import build_client, check_configuration
from op_api.runner import PaymentRunner
from op_api.sealing import TokenSealer
from op_api.settings import Settings, get_settings
from op_api.store import PaymentStore
from shared.app import create_service_app
from shared.server import serve

logger = logging.getLogger("op_api")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    try:
        client = build_client(settings)
    except ValueError as exc:  # ConfigurationError, KeyLoadError
        logger.error("cannot start: %s", exc)
        raise
    sealer = TokenSealer.from_secret(settings.token_sealing_secret)
    store = await PaymentStore.open(
        settings.database_url, settings.sqlite_path, settings.db_table_prefix, sealer=sealer
    )
    await store.create_schema()
    deps = Deps(settings=settings, client=client, store=store)
    runner = PaymentRunner(deps)
    app.state.deps = deps
    app.state.runner = runner
    app.state.ready_checks["database"] = store.ping
    app.state.ready_checks["wallet"] = lambda: client.wallet_address.get(client.wallet_address_url)
    runner.start()
    try:
        async with store.listening():  # other replicas' status moves wake our long polls
            yield
    finally:
        await runner.stop()
        await client.aclose()
        await store.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    app = create_service_app(
        name="op_api",
        settings=settings or get_settings,
        lifespan=lifespan,
        description="Open Payments client and payment state machine",
    )
    app.include_router(router)
    app.include_router(payment_requests_router)  # money requests (issue 16)
    app.include_router(links_router)  # linked wallets and one-tap payments (issue 17)
    return app


app = create_app()


def run() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "keygen":
        from op_api.keygen import main as keygen

        keygen(sys.argv[2:])
        return
    # A missing wallet or an unreadable key fails here, naming its variable, before serving.
    serve("op_api.main:app", get_settings, "op_api", preflight=check_configuration)
