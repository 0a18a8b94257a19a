"""The SQLAlchemy async engine: a SQLite file by default, PostgreSQL when `DATABASE_URL` says so.

State that matters (payments, pending confirmations, seen message ids) lives here and survives a
restart. For exactly-once steps, use conditional updates (`UPDATE … WHERE status = :expected`)
and check `rowcount`: that works the same on SQLite and across PostgreSQL replicas.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

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


logger = logging.getLogger(__name__)
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(directory: Path) -> Path:
    """`directory`, created if needed, readable by its owner alone (0700).

    Our data files hold phone numbers, names, message payloads and GNAP tokens: no other local
    user may list or read them. A folder someone else owns (a mounted volume) is left as it is.
    """
    directory.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    if directory.resolve() in {Path.cwd().resolve(), Path.home().resolve(), Path("/")}:
        return directory  # a data file right in a shared folder: that folder is not ours to lock
    try:
        if directory.stat().st_uid == os.getuid():
            directory.chmod(PRIVATE_DIR)
    except OSError as exc:
        logger.warning("cannot restrict the data folder", extra={"error": str(exc)})
    return directory


def private_file(path: Path) -> Path:
    """`path` (created empty if missing) readable and writable by its owner alone (0600)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    os.close(fd)
    try:
        path.chmod(PRIVATE_FILE)
    except OSError as exc:
        logger.warning("cannot restrict a data file", extra={"error": str(exc)})
    return path


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
