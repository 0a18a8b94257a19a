"""The SQLAlchemy async engine: a SQLite file by default, PostgreSQL when `DATABASE_URL` says so.

State that matters (payments, pending confirmations, seen message ids) lives here and survives a
restart. For exactly-once steps, use conditional updates (`UPDATE … WHERE status = :expected`)
and check `rowcount`: that works the same on SQLite and across PostgreSQL replicas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from shared.files import private_file

_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def normalize_database_url(url: str) -> str:
    """postgresql://… → postgresql+asyncpg://…, sqlite:///… → sqlite+aiosqlite:///…"""
    parsed = make_url(url)
    driver = _DRIVERS.get(parsed.drivername, parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def sqlite_url(path: Path) -> str:
    # SQLite creates the -wal and -shm files with the database file's permissions.
    private_file(path)
    return f"sqlite+aiosqlite:///{path.resolve()}"


def create_engine(database_url: str | None, default_sqlite: Path, **kwargs: Any) -> AsyncEngine:
    """Engine for `database_url`, or for a SQLite file at `default_sqlite` when it is None."""
    url = normalize_database_url(database_url) if database_url else sqlite_url(default_sqlite)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            private_file(Path(database))
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside a writer; busy_timeout waits instead of failing on a lock.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


async def create_tables(engine: AsyncEngine, metadata: MetaData) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)
