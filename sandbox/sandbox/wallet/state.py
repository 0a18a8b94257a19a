"""Everything a request handler needs, kept on `app.state.wallet`."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sandbox.wallet.config import WalletConfig
from sandbox.wallet.faults import Faults
from sandbox.wallet.keys import PlatformKey
from sandbox.wallet.passwords import Passwords
from sandbox.wallet.recorder import Recorder


@dataclass
class WalletState:
    config: WalletConfig
    platform: PlatformKey
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    faults: Faults = field(default_factory=Faults)
    recorder: Recorder = field(default_factory=Recorder)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    passwords: Passwords = field(default_factory=lambda: Passwords({}))
    # Proves a balances-page form came from that page (the operator's browser), not another site.
    form_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction, one at a time.

        SQLite refuses to upgrade a read transaction to a write after another connection has
        committed (SQLITE_BUSY_SNAPSHOT, which busy_timeout does not retry); serializing writers
        in this single process rules that out. Plain reads need no lock.
        """
        async with self.write_lock, self.sessions.begin() as session:
            yield session

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        # Keep a reference: the event loop holds tasks only weakly.
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


def get_state(request: Request) -> WalletState:
    state: WalletState = request.app.state.wallet
    return state


State = Annotated[WalletState, Depends(get_state)]
