"""Schema changes through Alembic, the same way for every service, SQLite and PostgreSQL alike.

Each service keeps its migration environment inside its package (`<service>/migrations`, so its
Docker image has it) and calls `upgrade` at start-up or as its own step. A database made before
migrations existed (the service's tables, no version table) is stamped at the baseline revision,
the schema those releases shipped, and upgraded from there.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from alembic import command, context
from alembic.config import Config
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine
from shared.logging import configure_logging
from shared.server import load_or_exit
from shared.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


@dataclass(frozen=True)
class Migrations:
    """One service's migration environment and where it keeps its version."""

    script_location: Path
    version_table: str
    baseline: str  # the revision whose schema databases made before migrations already have
    legacy_table: str  # a table that tells such a database apart from an empty one
    attributes: dict[str, Any] = field(default_factory=dict)  # read by the revisions

    def config(self, connection: Connection) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(self.script_location))
        cfg.attributes.update(self.attributes)
        cfg.attributes["connection"] = connection
        cfg.attributes["version_table"] = self.version_table
        return cfg

    def upgrade_sync(self, connection: Connection) -> None:
        """Bring the database on `connection` to the newest revision (inside its transaction)."""
        if connection.dialect.name == "postgresql":
            # Replicas starting together take turns; the second finds the schema already done.
            key = zlib.crc32(self.version_table.encode())
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        cfg = self.config(connection)
        tables = inspect(connection)
        if tables.has_table(self.legacy_table) and not tables.has_table(self.version_table):
            command.stamp(cfg, self.baseline)
        command.upgrade(cfg, "head")

    async def upgrade(self, engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            await conn.run_sync(self.upgrade_sync)


def run_env() -> None:
    """The body of every service's `env.py`: migrate on the connection `upgrade` handed over."""
    cfg = context.config
    context.configure(
        connection=cfg.attributes["connection"],
        version_table=cfg.attributes["version_table"],
    )
    with context.begin_transaction():
        context.run_migrations()


def upgrade_from_settings(
    factory: Callable[[], S], service: str, migrations: Callable[[S], Migrations]
) -> None:
    """A service's migrations as their own step (its console script), on its DATABASE_URL."""
    settings = load_or_exit(factory, service)
    configure_logging(service, settings.log_level)

    async def upgrade() -> None:
        engine = create_engine(settings.database_url, settings.sqlite_path)
        try:
            await migrations(settings).upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(upgrade())
