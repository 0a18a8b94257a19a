"""Linked wallets (issue 17): the links table (a standing grant at a user's wallet, its
allowance and what is reserved of it), and the payment columns of one-tap payments.

Revision ID: op0004_links
Revises: op0003_batches
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from op_api.migrations import links_table, payments_table

revision = "op0004_links"
down_revision = "op0003_batches"
branch_labels = None
depends_on = None

PAYMENT_COLUMNS: dict[str, sa.types.TypeEngine[Any]] = {  # all nullable
    "link_id": sa.String(64),
    "link_reserved": sa.BigInteger(),  # minor units reserved in the link's interval
    "link_interval": sa.Integer(),  # which interval (k) the reservation counts in
    "allowance_remaining": sa.JSON(),
    "fallback_reason": sa.String(32),
}


def upgrade() -> None:
    name = links_table()
    op.create_table(
        name,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("idempotency_key", sa.String(256), unique=True, nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("wallet_url", sa.Text, nullable=False),
        sa.Column("wallet", sa.JSON, nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("failure_reason", sa.Text, nullable=True),
        sa.Column("allowance", sa.JSON, nullable=True),
        sa.Column("allowance_minor", sa.BigInteger, nullable=True),
        sa.Column("interval", sa.String(32), nullable=True),
        sa.Column("interval_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("spent_interval", sa.Integer, nullable=True),
        sa.Column("spent", sa.BigInteger, nullable=False),
        sa.Column("confirmation_url", sa.Text, nullable=True),
        sa.Column("continue_uri", sa.Text, nullable=True),
        sa.Column("continue_token", sa.Text, nullable=True),  # sealed
        sa.Column("continue_wait", sa.Integer, nullable=True),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("continue_claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finish_nonce", sa.Text, nullable=True),
        sa.Column("as_finish_nonce", sa.Text, nullable=True),
        sa.Column("interact_ref", sa.Text, nullable=True),  # sealed
        sa.Column("token", sa.JSON, nullable=True),  # sealed
        sa.Column("token_version", sa.Integer, nullable=False),
        sa.Column("token_claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(f"ix_{name}_status", name, ["status"])
    payments = payments_table()
    existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(payments)}
    for column, kind in PAYMENT_COLUMNS.items():
        if column not in existing:
            op.add_column(payments, sa.Column(column, kind, nullable=True))
