"""The wallet provider's ASGI app: one origin for wallet addresses, auth, resources and pages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sandbox.wallet import (
    admin,
    admin_actions,
    admin_ops,
    auth_server,
    incoming,
    interaction,
    outgoing,
    pages,
    quotes,
    wallets,
)
from sandbox.wallet.config import WalletConfig
from sandbox.wallet.errors import install_handlers
from sandbox.wallet.faults import Faults
from sandbox.wallet.keys import ensure_platform_key
from sandbox.wallet.passwords import Passwords
from sandbox.wallet.recorder import ProtocolMiddleware, Recorder
from sandbox.wallet.settlement import resume_all
from sandbox.wallet.state import WalletState
from sandbox.wallet.store import open_store
from shared.app import BodySizeLimitMiddleware
from shared.request_id import RequestIdMiddleware

logger = logging.getLogger(__name__)
MAX_BODY_BYTES = 256 * 1024


def create_app(config: WalletConfig, *, reset: bool = False) -> FastAPI:
    faults, recorder = Faults(), Recorder()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        platform = ensure_platform_key(config)
        engine, sessions = await open_store(config, platform, reset=reset)
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as http:
            state = WalletState(
                config,
                platform,
                engine,
                sessions,
                http,
                faults,
                recorder,
                passwords=Passwords(config.passwords),
            )
            app.state.wallet = state
            await resume_all(state)
            logger.info(
                "wallet ready", extra={"public_url": config.base, "key_id": platform.key_id}
            )
            yield
            for task in list(state.tasks):
                task.cancel()
            await asyncio.gather(*state.tasks, return_exceptions=True)
        await engine.dispose()

    app = FastAPI(
        title="Sandbox Open Payments wallet",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    install_handlers(app, config.auth_url)

    @app.exception_handler(Exception)
    async def _unhandled(_request: Request, _exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return JSONResponse(
            {"error": {"code": "500", "description": "internal error"}}, status_code=500
        )

    @app.get("/health", tags=["ops"])
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": "sandbox-wallet"}

    # Order matters: the wallet-address catch-all `/{name}` must come last.
    for module in (
        admin,
        admin_actions,
        admin_ops,
        pages,
        interaction,
        auth_server,
        incoming,
        quotes,
        outgoing,
        wallets,
    ):
        app.include_router(module.router)
    app.add_middleware(ProtocolMiddleware, faults=faults, recorder=recorder)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=lambda: MAX_BODY_BYTES)
    app.add_middleware(RequestIdMiddleware)
    return app
