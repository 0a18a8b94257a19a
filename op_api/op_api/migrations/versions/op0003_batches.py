"""Batches: several payments from one sender approved with one grant (issue 16).

Revision ID: op0003_batches
Revises: op0002

A `batches` table (one row per POST /send-batch), and two columns on payments: the batch a
payment belongs to, and the payment of that batch holding the shared grant (`grant_lead`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from op_api.migrations import payments_table

revision = "op0003_batches"
down_revision = "op0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    payments = payments_table()
    existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(payments)}
    for column in ("batch_id", "grant_lead"):
        if column not in existing:
            op.add_column(payments, sa.Column(column, sa.String(64), nullable=True))
    op.create_index(f"ix_{payments}_batch_id", payments, ["batch_id"])
    op.create_table(
        f"{context.config.attributes['table_prefix']}batches",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("idempotency_key", sa.String(256), unique=True, nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("payment_ids", sa.JSON, nullable=False),
        sa.Column("shared_grant", sa.Integer, nullable=True),
        sa.Column("debit_amount", sa.JSON, nullable=True),
        sa.Column("failure_reason", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
