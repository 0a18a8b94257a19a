"""ws_bot: the WhatsApp gateway. Wires the app; the concerns live in the modules beside it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shared.app import create_service_app
from shared.server import serve
from ws_bot.backends import LlmClient, OpClient
from ws_bot.conversation import Conversation
from ws_bot.graph import Messenger, build_whatsapp
from ws_bot.inbox_signal import hearing_stored_bodies
from ws_bot.poller import Poller
from ws_bot.scheduler import Scheduler
from ws_bot.settings import Settings, get_settings
from ws_bot.statuses import StatusFeed
from ws_bot.store import Store
from ws_bot.wallets import WalletResolver
from ws_bot.webhook import router
from ws_bot.worker import InboxWorker, register_handlers


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    store = await Store.open(settings.database_url, settings.sqlite_path)
    await store.create()
    app.state.store, app.state.worker = store, None
    app.state.ready_checks["database"] = store.ping  # a ROLE=webhook process's one dependency
    try:
        if settings.role == "webhook":
            async with acknowledging(app, settings, store):
                yield
        else:
            async with answering(app, settings, store):
                yield
    finally:
        await store.close()


@asynccontextmanager
async def acknowledging(app: FastAPI, settings: Settings, store: Store) -> AsyncIterator[None]:
    """ROLE=webhook: only the ack (signature, shape, durable body, 200); the workers beside it
    are told of each group commit (ws_bot.inbox_signal)."""
    wa, graph_session = build_whatsapp(settings)  # its signature check; it sends nothing here
    app.state.wa = wa
    store.inbox.announce_to_workers()
    try:
        yield
    finally:
        await graph_session.aclose()


@asynccontextmanager
async def answering(app: FastAPI, settings: Settings, store: Store) -> AsyncIterator[None]:
    """ROLE=all or worker: the inbox worker, the conversation and everything that follows
    payments, requests, schedules and links."""
    # The leases a previous run under the same replica id left behind.
    await store.inbox.release_leases(settings.replica_id)
    await store.payments.release_leases(settings.replica_id)
    wa, graph_session = build_whatsapp(settings)
    messenger = Messenger(wa)
    token = settings.internal_api_token.get_secret_value()
    llm = LlmClient(settings.llm_backend, token, settings.llm_timeout_seconds)
    op = OpClient(settings.op_backend, token, settings.op_timeout_seconds)
    wallets = WalletResolver(
        settings.allow_insecure_http,
        settings.wallet_fetch_timeout_seconds,
        max_document=settings.wallet_document_max_bytes,
    )
    poller = Poller(settings, store, op, messenger)
    conversation = Conversation(settings, store, messenger, llm, op, wallets, poller.wake)
    scheduler = Scheduler(settings, store, op, messenger, poller.wake)  # issue 17
    register_handlers(wa, conversation)
    app.state.statuses = StatusFeed(store, poller.notices)
    worker = InboxWorker(
        settings, store, wa, conversation.apologise, on_statuses=app.state.statuses.submit
    )
    app.state.wa, app.state.worker = wa, worker

    async def llm_ready() -> bool:
        return (await llm.http.get("/health")).status_code == 200

    async def op_ready() -> bool:
        return (await op.http.get("/health")).status_code == 200

    app.state.ready_checks.update({"llm_back": llm_ready, "op_api": op_ready})
    worker.start()
    hearing: contextlib.AbstractAsyncContextManager[None]
    if settings.role == "worker":  # the acks are another process's
        hearing = hearing_stored_bodies(store.db, worker.wake)
    else:
        hearing = contextlib.nullcontext()
    poller.start()
    scheduler.start()
    conversation.readings.requests.following.start()  # money requests' outcomes (issue 16)
    conversation.linking.following.start()  # wallet links waiting for approval (issue 17)
    try:
        async with hearing:
            yield
    finally:
        await worker.stop()
        await poller.stop()
        await scheduler.stop()
        await conversation.readings.requests.following.stop()
        await conversation.linking.following.stop()
        await app.state.statuses.stop()
        for client in (llm, op, wallets):
            await client.aclose()
        await graph_session.aclose()


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
