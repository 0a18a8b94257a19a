"""The gateway's schema migrations (Alembic). Run at start-up by `Store.create`, or as their own
step: `python -m ws_bot.migrations` (reads DATABASE_URL)."""

from __future__ import annotations

from pathlib import Path

from shared.migrations import Migrations

MIGRATIONS = Migrations(
    script_location=Path(__file__).parent,
    version_table="ws_alembic_version",
    baseline="ws0001",  # the gateway's tables as release 0d3dbba created them
    legacy_table="ws_inbox",
)
