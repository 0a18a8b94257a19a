"""The payments table as release 0d3dbba shipped it (databases from then on are stamped here).

Revision ID: op0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from op_api.migrations import payments_table

revision = "op0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    name = payments_table()
    op.create_table(
        name,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("idempotency_key", sa.String(256), unique=True, nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("failure_reason", sa.Text, nullable=True),
        sa.Column("sender", sa.JSON, nullable=True),
        sa.Column("receiver", sa.JSON, nullable=True),
        sa.Column("debit_amount", sa.JSON, nullable=True),
        sa.Column("receive_amount", sa.JSON, nullable=True),
        sa.Column("sent_amount", sa.JSON, nullable=True),
        sa.Column("received_amount", sa.JSON, nullable=True),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("incoming_payment_url", sa.Text, nullable=True),
        sa.Column("incoming_token", sa.JSON, nullable=True),
        sa.Column("quote_url", sa.Text, nullable=True),
        sa.Column("quote_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("quote_token", sa.JSON, nullable=True),
        sa.Column("confirmation_url", sa.Text, nullable=True),
        sa.Column("continue_uri", sa.Text, nullable=True),
        sa.Column("continue_token", sa.Text, nullable=True),
        sa.Column("continue_wait", sa.Integer, nullable=True),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("continue_claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finish_nonce", sa.Text, nullable=True),
        sa.Column("as_finish_nonce", sa.Text, nullable=True),
        sa.Column("outgoing_token", sa.JSON, nullable=True),
        sa.Column("op_claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("op_uncertain_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("op_attempts", sa.Integer, nullable=False),
        sa.Column("op_next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outgoing_payment_url", sa.Text, nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sending_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(f"ix_{name}_status", name, ["status"])
