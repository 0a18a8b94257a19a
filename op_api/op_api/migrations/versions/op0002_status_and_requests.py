"""Columns added since release 0d3dbba: status reasons, checks, initiation failures, the
interaction reference (sealed: its DDL type is plain Text) and payments of money requests.

Revision ID: op0002
Revises: op0001

Databases made between the release and this revision got some of these columns from the
hand-written ADD COLUMN that preceded Alembic, so only the missing ones are added.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from op_api.migrations import payments_table

revision = "op0002"
down_revision = "op0001"
branch_labels = None
depends_on = None

ADDED: dict[str, sa.types.TypeEngine[Any]] = {  # all nullable
    "status_reason": sa.Text(),
    "status_changed_at": sa.DateTime(timezone=True),
    "next_check_at": sa.DateTime(timezone=True),
    "initiation_failed_at": sa.DateTime(timezone=True),
    "interact_ref": sa.Text(),
    "incoming_is_request": sa.Integer(),
}


def upgrade() -> None:
    name = payments_table()
    existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(name)}
    for column, kind in ADDED.items():
        if column not in existing:
            op.add_column(name, sa.Column(column, kind, nullable=True))
