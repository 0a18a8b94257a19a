"""The SQLite store: opening it (fresh with `--reset`), seeding, and balance movements."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sandbox.wallet.config import PLATFORM_WALLET, WalletConfig
from sandbox.wallet.keys import PlatformKey
from sandbox.wallet.models import Base, Movement, Wallet, WalletKey
from shared.db import create_engine, create_tables, session_factory


@dataclass(frozen=True)
class SeedWallet:
    name: str
    public_name: str
    asset_code: str
    asset_scale: int
    balance: int


SEED = (
    SeedWallet("alice", "Alice", "USD", 2, 100_000),
    SeedWallet("bob", "Bob", "USD", 2, 100_000),
    SeedWallet("carol", "Carol", "MXN", 2, 1_000_000),
    SeedWallet(PLATFORM_WALLET, "Paguito", "USD", 2, 0),
)

# Paths the wallet-address catch-all must never claim as wallet names.
RESERVED_NAMES = frozenset(
    {
        "auth",
        "admin",
        "balances",
        "health",
        "ready",
        "incoming-payments",
        "outgoing-payments",
        "outgoing-payment-grant",
        "quotes",
        "static",
        "favicon.ico",
        ".well-known",
    }
)


class InsufficientFunds(Exception):
    pass


async def open_store(
    config: WalletConfig, platform: PlatformKey, *, reset: bool
) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    if reset:
        for suffix in ("", "-wal", "-shm", "-journal"):
            config.db_path.with_name(config.db_path.name + suffix).unlink(missing_ok=True)
    engine = create_engine(None, config.db_path)
    await create_tables(engine, Base.metadata)
    sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
    async with sessions.begin() as session:
        if (await session.execute(select(Wallet.name).limit(1))).first() is None:
            for seed in SEED:
                await add_wallet(session, seed)
        key = await session.scalar(
            select(WalletKey).where(
                WalletKey.wallet == PLATFORM_WALLET, WalletKey.kid == platform.key_id
            )
        )
        if key is None:
            session.add(WalletKey(wallet=PLATFORM_WALLET, kid=platform.key_id, x=platform.x))
        elif key.x != platform.x:
            key.x = platform.x
    return engine, sessions


async def add_wallet(session: AsyncSession, seed: SeedWallet) -> Wallet:
    now = time.time()
    wallet = Wallet(
        name=seed.name,
        public_name=seed.public_name,
        asset_code=seed.asset_code,
        asset_scale=seed.asset_scale,
        balance=0,
        created_at=now,
    )
    session.add(wallet)
    await session.flush()
    if seed.balance:
        await move(session, seed.name, seed.balance, "Opening balance", None)
    return wallet


async def move(
    session: AsyncSession,
    wallet: str,
    amount: int,
    description: str,
    reference: str | None,
    *,
    allow_negative: bool = False,
) -> int:
    """Add `amount` (negative to debit) to a balance, refusing to overdraw; returns the new one."""
    condition = Wallet.name == wallet
    if amount < 0 and not allow_negative:
        condition = condition & (Wallet.balance >= -amount)
    result = await session.execute(
        update(Wallet)
        .where(condition)
        .values(balance=Wallet.balance + amount)
        .returning(Wallet.balance)
    )
    row = result.first()
    if row is None:
        raise InsufficientFunds(wallet)
    balance = int(row[0])
    session.add(
        Movement(
            wallet=wallet,
            amount=amount,
            balance_after=balance,
            description=description,
            reference=reference,
            created_at=time.time(),
        )
    )
    return balance
