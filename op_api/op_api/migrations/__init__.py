"""op_api's schema migrations (Alembic). Run at start-up by `PaymentStore.create_schema`, or as
their own step: `python -m op_api.migrations` (reads DATABASE_URL and DB_TABLE_PREFIX).

The payments table's name carries the configurable prefix, so revisions read it from the
Alembic config (`table_prefix`) instead of hard-coding it.
"""

from __future__ import annotations

from pathlib import Path

from alembic import context

from shared.migrations import Migrations

BASELINE = "op0001"  # the payments table as release 0d3dbba created it


def migrations(prefix: str) -> Migrations:
    return Migrations(
        script_location=Path(__file__).parent,
        version_table=f"{prefix}alembic_version",
        baseline=BASELINE,
        legacy_table=f"{prefix}payments",
        attributes={"table_prefix": prefix},
    )


def payments_table() -> str:
    """The payments table's name, inside a revision."""
    return f"{context.config.attributes['table_prefix']}payments"


def links_table() -> str:
    """The linked wallets table's name, inside a revision."""
    return f"{context.config.attributes['table_prefix']}links"
