"""op_api's schema migrations (Alembic). Run at start-up by `PaymentStore.create_schema` (in a
child process, only when the database is behind `HEAD`), or as their own step: `python -m
op_api.migrations` (reads DATABASE_URL and DB_TABLE_PREFIX). Importing this package imports
neither Alembic nor SQLAlchemy.

The payments table's name carries the configurable prefix, so revisions read it from the
Alembic config (`table_prefix`) instead of hard-coding it.
"""

from __future__ import annotations

from pathlib import Path

from shared.migrations import Migrations

BASELINE = "op0001"  # the payments table as release 0d3dbba created it
HEAD = "op0004_links"  # the newest revision in versions/: the schema this code reads and writes


def migrations(prefix: str) -> Migrations:
    return Migrations(
        script_location=Path(__file__).parent,
        version_table=f"{prefix}alembic_version",
        head=HEAD,
        baseline=BASELINE,
        legacy_table=f"{prefix}payments",
        attributes={"table_prefix": prefix},
    )


def _prefix() -> str:
    from alembic import context  # only ever inside a revision, in the migrations' process

    prefix: str = context.config.attributes["table_prefix"]
    return prefix


def payments_table() -> str:
    """The payments table's name, inside a revision."""
    return f"{_prefix()}payments"


def links_table() -> str:
    """The linked wallets table's name, inside a revision."""
    return f"{_prefix()}links"
