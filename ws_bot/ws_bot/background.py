"""The gateway's work behind the webhook, on an event loop of its own in its own thread.

The webhook's ack is: signature, shape, the raw body committed, 200. Everything after it — the
inbox worker answering messages, the payment poller, the scheduler, the followers of money
requests and wallet links — runs here. Why a loop of its own: issue 12 measured acks waiting
behind the worker when they shared one loop (one at a time, an ack that arrived while the worker
answered the previous message took 3.4× a bare insert; under a burst the worker hardly got a
turn). With two loops the ack waits at most for the interpreter to switch threads.

The two loops share only the store (SQLite's threads serve any loop; on PostgreSQL each loop has
a pool of its own) and thread-safe calls: `wake_worker` after an ack, `call` for the readiness
checks, which use this loop's HTTP clients.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ws_bot.backends import LlmClient, OpClient
from ws_bot.conversation import Conversation
from ws_bot.graph import Messenger, build_whatsapp
from ws_bot.poller import Poller
from ws_bot.scheduler import Scheduler
from ws_bot.settings import Settings
from ws_bot.statuses import StatusFeed
from ws_bot.store import Store
from ws_bot.wallets import WalletResolver
from ws_bot.worker import InboxWorker, register_handlers

logger = logging.getLogger(__name__)
T = TypeVar("T")

# How long a thread may hold the interpreter before another that waits gets it. Python's 5 ms
# default would let one stretch of the worker's Python code delay an ack by 5 ms; 1 ms bounds
# that wait at about what the ack itself costs, for a little more switching.
SWITCH_INTERVAL = 0.001


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop where it is installed, as uvicorn chooses for the request loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency where it builds
        return asyncio.new_event_loop
    return uvloop.new_event_loop


class Background:
    """Starts, serves and stops the gateway's background work (see the module's docstring)."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.main_store = store
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._stopping: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._serve, name="ws-bot-background", daemon=True)
        self._checks: dict[str, Callable[[], Awaitable[bool]]] = {}
        self._worker: InboxWorker | None = None

    async def start(self) -> None:
        """Start the thread and wait until everything in it runs (or failed to start)."""
        sys.setswitchinterval(SWITCH_INTERVAL)
        self._thread.start()
        await asyncio.wrap_future(self._ready)

    async def stop(self) -> None:
        if self.loop is not None and self._stopping is not None:
            self.loop.call_soon_threadsafe(self._stopping.set)
        await asyncio.to_thread(self._thread.join, 60)

    def wake_worker(self) -> None:
        """A body was stored: the worker splits it now rather than at its next look."""
        if self.loop is not None and self._worker is not None:
            self.loop.call_soon_threadsafe(self._worker.wake)

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run `fn()` on the background loop (for objects that belong to it) and await it."""
        assert self.loop is not None

        async def run() -> T:
            return await fn()

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(run(), self.loop))

    def check(self, name: str) -> Callable[[], Awaitable[bool]]:
        """The readiness check `name` (llm_back, op_api), callable from the main loop."""
        return lambda: self.call(self._checks[name])

    def _serve(self) -> None:
        try:
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                runner.run(self._main())
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            else:
                logger.exception("the background loop stopped")

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        settings = self.settings
        token = settings.internal_api_token.get_secret_value()
        store = await self.main_store.for_another_loop()
        wa, graph_session = build_whatsapp(settings)
        messenger = Messenger(wa)
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
        statuses = StatusFeed(store, poller.notices)
        worker = InboxWorker(
            settings, store, wa, conversation.apologise, on_statuses=statuses.submit
        )

        async def llm_ready() -> bool:
            return (await llm.http.get("/health")).status_code == 200

        async def op_ready() -> bool:
            return (await op.http.get("/health")).status_code == 200

        self._checks = {"llm_back": llm_ready, "op_api": op_ready}
        followers: list[Any] = [
            worker,
            poller,
            scheduler,
            conversation.readings.requests.following,  # money requests' outcomes (issue 16)
            conversation.linking.following,  # wallet links waiting for approval (issue 17)
        ]
        for each in followers:
            each.start()
        self._worker = worker
        self._ready.set_result(None)
        try:
            await self._stopping.wait()
        finally:
            self._worker = None
            for each in followers:
                await each.stop()
            await statuses.stop()
            for client in (llm, op, wallets):
                await client.aclose()
            await graph_session.aclose()
            if store is not self.main_store:
                await store.close()
