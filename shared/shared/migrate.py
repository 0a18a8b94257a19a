"""Running the migrations (Alembic on SQLAlchemy): only ever in a process of its own, never in
a service's (see `shared.migrations`).

`python -m shared.migrate '<Migrations as JSON>'` upgrades the database at DATABASE_URL: the
child a service starts when its schema is behind. Each service's console script (`ws-bot-migrate`,
`op-api-migrate`) does the same from the service's settings.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from alembic import command, context
from alembic.config import Config
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine
from shared.logging import configure_logging
from shared.migrations import Migrations
from shared.server import load_or_exit
from shared.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)
logger = logging.getLogger("shared.migrate")  # also when run as __main__


def config(migrations: Migrations, connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations.script_location))
    cfg.attributes.update(migrations.attributes)
    cfg.attributes["connection"] = connection
    cfg.attributes["version_table"] = migrations.version_table
    return cfg


def upgrade_sync(migrations: Migrations, connection: Connection) -> None:
    """Bring the database on `connection` to the newest revision (inside its transaction)."""
    if connection.dialect.name == "postgresql":
        # Replicas starting together take turns; the second finds the schema already done.
        key = zlib.crc32(migrations.version_table.encode())
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif connection.dialect.name == "sqlite":
        # Processes sharing one file (ROLE=webhook beside ROLE=worker) take turns the same way:
        # the write lock first, so the second reads the version only after the first commits.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    cfg = config(migrations, connection)
    tables = inspect(connection)
    if tables.has_table(migrations.legacy_table) and not tables.has_table(migrations.version_table):
        command.stamp(cfg, migrations.baseline)
    command.upgrade(cfg, "head")


async def upgrade(migrations: Migrations, engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: upgrade_sync(migrations, sync))


async def upgrade_url(migrations: Migrations, database_url: str | None, sqlite_path: Path) -> None:
    engine = create_engine(database_url, sqlite_path)
    try:
        await upgrade(migrations, engine)
    finally:
        await engine.dispose()


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
    asyncio.run(upgrade_url(migrations(settings), settings.database_url, settings.sqlite_path))


def main(argv: list[str] | None = None) -> None:
    """The child of `Migrations.ensure`: upgrade DATABASE_URL, exit non-zero if that fails."""
    migrations = Migrations.from_json((argv or sys.argv[1:])[0])
    configure_logging(migrations.script_location.parent.name, os.environ.get("LOG_LEVEL", "INFO"))
    try:
        asyncio.run(upgrade_url(migrations, os.environ["DATABASE_URL"], Path("unused")))
    except Exception as exc:
        logger.exception(
            "schema migrations failed", extra={"head": migrations.head, "error": str(exc)}
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
