"""Wallet links (issue 17): a user's wallet is verified once they approve a grant at it.
Users registered before this revision have no link: they are unverified and asked to link on
their next payment.

Revision ID: ws0004
Revises: ws0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ws0004"
down_revision = "ws0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("ws_links"):
        return
    op.create_table(
        "ws_links",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("wa_id", sa.String(64), nullable=False),
        sa.Column("wallet_url", sa.String(2048), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("allowance", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("next_check_at", sa.Float, nullable=False),
    )
    op.create_index("ix_ws_links_wa_id", "ws_links", ["wa_id"])
    op.create_index("ix_ws_links_wallet_url", "ws_links", ["wallet_url"])
    op.create_index("ix_ws_links_next_check_at", "ws_links", ["next_check_at"])
