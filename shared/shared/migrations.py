"""Schema changes through Alembic, the same way for every service, SQLite and PostgreSQL alike.

Each service keeps its migration environment inside its package (`<service>/migrations`, so its
Docker image has it) and describes it here as a `Migrations`, with the head revision its code
expects. A database made before migrations existed (the service's tables, no version table) is
stamped at the baseline revision, the schema those releases shipped, and upgraded from there.

The service process imports neither SQLAlchemy nor Alembic (issue 12: they cost 18–25 MiB of
every service's memory). At start-up `Migrations.ensure` reads the version table with the plain
driver (`shared.sql`) and, only when it is not at the head, runs the migrations in a child
process (`python -m shared.migrate`, which imports Alembic) on the same database, and waits for
it. The same step runs on its own as each service's console script (`ws-bot-migrate`, …).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from shared.sql import Database, PostgresDatabase, SqliteDatabase

logger = logging.getLogger(__name__)


class MigrationError(RuntimeError):
    """The schema could not be brought to the head revision: the service must not start."""


@dataclass(frozen=True)
class Migrations:
    """One service's migration environment, where it keeps its version, and the head revision
    its code expects (a test holds it equal to the environment's head)."""

    script_location: Path
    version_table: str
    head: str
    baseline: str  # the revision whose schema databases made before migrations already have
    legacy_table: str  # a table that tells such a database apart from an empty one
    attributes: dict[str, str] = field(default_factory=dict)  # read by the revisions

    def to_json(self) -> str:
        return json.dumps(
            {
                "script_location": str(self.script_location),
                "version_table": self.version_table,
                "head": self.head,
                "baseline": self.baseline,
                "legacy_table": self.legacy_table,
                "attributes": self.attributes,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Migrations:
        spec = json.loads(text)
        return cls(**{**spec, "script_location": Path(spec["script_location"])})

    async def applied(self, db: Database) -> set[str]:
        """The revisions the database is at; none when it was never migrated."""
        if db.dialect == "sqlite":
            probe = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1"
        else:
            probe = (
                "SELECT 1 FROM information_schema.tables"
                " WHERE table_schema = current_schema() AND table_name = $1"
            )
        if not await db.read(probe, self.version_table):
            return set()
        table = self.version_table.replace('"', '""')
        rows = await db.read(f'SELECT version_num FROM "{table}"')  # noqa: S608 - our own name
        return {str(row["version_num"]) for row in rows}

    async def ensure(self, db: Database) -> None:
        """Bring `db` to the head revision, migrating in a child process only if it is not
        there yet; raises `MigrationError` (start-up must fail) if that does not get it there."""
        if await self.applied(db) == {self.head}:
            return
        await run_migrations(self, database_url(db))
        found = await self.applied(db)
        if found != {self.head}:
            logger.error(
                "schema not at the expected revision after migrating",
                extra={"found": sorted(found), "expected": self.head},
            )
            raise MigrationError(
                f"{self.version_table} is at {sorted(found)} after migrating, not {self.head}"
            )


def database_url(db: Database) -> str:
    """A URL the migrations child opens `db`'s database with."""
    if isinstance(db, PostgresDatabase) and db.url:
        return db.url
    if isinstance(db, SqliteDatabase):
        if db.path == ":memory:" or "mode=memory" in db.path:
            raise MigrationError("an in-memory SQLite database cannot be migrated by a child")
        path = db.path if db.path.startswith("file:") else str(Path(db.path).resolve())
        return f"sqlite:///{path}"
    raise MigrationError(f"no URL known for the database {db!r}")


async def run_migrations(migrations: Migrations, url: str) -> None:
    """`python -m shared.migrate` on `url`, waited for; `MigrationError` if it fails.

    The URL goes through the environment, not the command line, where `ps` would show its
    password. Its log lines go where this process's go.
    """
    logger.info("migrating the schema", extra={"head": migrations.head})
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shared.migrate",
        migrations.to_json(),
        env={**os.environ, "DATABASE_URL": url},
    )
    try:
        code = await child.wait()
    except BaseException:
        # Cancelled start-up: the child's transaction rolls back when it dies.
        if child.returncode is None:
            child.kill()
            await child.wait()
        raise
    if code != 0:
        logger.error("schema migrations failed: cannot start", extra={"exit_code": code})
        raise MigrationError(f"the schema migrations failed (exit code {code})")
