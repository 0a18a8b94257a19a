"""The gateway's tables as release 0d3dbba shipped them (databases from then on are stamped here).

Revision ID: ws0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ws0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ws_inbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(256), nullable=False, unique=True),
        sa.Column("wa_id", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", sa.Float),
        sa.Column("received_at", sa.Float, nullable=False),
    )
    op.create_index("ix_ws_inbox_wa_id", "ws_inbox", ["wa_id"])
    op.create_index("ix_ws_inbox_status", "ws_inbox", ["status"])
    op.create_table(
        "ws_users",
        sa.Column("wa_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("language", sa.String(8)),
        sa.Column("wallet_url", sa.String(2048)),
        sa.Column("wallet_asset", sa.String(16)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("pending", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "ws_contacts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("alias", sa.String(128), nullable=False),
        sa.Column("alias_key", sa.String(128), nullable=False),
        sa.Column("wallet_url", sa.String(2048)),
        sa.Column("phone", sa.String(32)),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("owner", "alias_key", name="uq_ws_contacts_owner_alias"),
    )
    op.create_index("ix_ws_contacts_owner", "ws_contacts", ["owner"])
    op.create_table(
        "ws_drafts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("wa_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("amount", sa.String(64)),
        sa.Column("currency", sa.String(8)),
        sa.Column("recipient_label", sa.String(256)),
        sa.Column("receiver_wallet", sa.String(2048)),
        sa.Column("receiver_wa_id", sa.String(64)),
        sa.Column("source_message_id", sa.String(256), nullable=False),
        sa.Column("payment_id", sa.String(64)),
        sa.Column("quote", sa.Text),
        sa.Column("confirmed_by", sa.String(256)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_ws_drafts_wa_id", "ws_drafts", ["wa_id"])
    op.create_table(
        "ws_payments",
        sa.Column("payment_id", sa.String(64), primary_key=True),
        sa.Column("wa_id", sa.String(64), nullable=False),
        sa.Column("draft_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("recipient_label", sa.String(256), nullable=False),
        sa.Column("receiver_wallet", sa.String(2048), nullable=False),
        sa.Column("receiver_wa_id", sa.String(64)),
        sa.Column("debit", sa.Text),
        sa.Column("receive", sa.Text),
        sa.Column("react_message_id", sa.String(256)),
        sa.Column("deadline", sa.Float, nullable=False),
        sa.Column("next_poll_at", sa.Float, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", sa.Float),
        sa.Column("notified", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_ws_payments_wa_id", "ws_payments", ["wa_id"])
