"""The gateway's schema migrations (Alembic). Run at start-up by `Store.create` (in a child
process, only when the database is behind `HEAD`), or as their own step: `python -m
ws_bot.migrations` (reads DATABASE_URL). Importing this package imports neither."""

from __future__ import annotations

from pathlib import Path

from shared.migrations import Migrations

HEAD = "ws0006"  # the newest revision in versions/: the schema this code reads and writes

MIGRATIONS = Migrations(
    script_location=Path(__file__).parent,
    version_table="ws_alembic_version",
    head=HEAD,
    baseline="ws0001",  # the gateway's tables as release 0d3dbba created them
    legacy_table="ws_inbox",
)
