"""Scheduled payments (issue 17): `ws_schedules`, one row per schedule, with the run that is
next and the link (standing grant) that pays it.

Revision ID: ws0005
Revises: ws0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ws0005"
down_revision = "ws0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "ws_schedules" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "ws_schedules",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("wa_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("amount", sa.String(64), nullable=False),
        sa.Column("asset", sa.String(16), nullable=False),
        sa.Column("recipient_label", sa.String(256), nullable=False),
        sa.Column("receiver_wallet", sa.String(2048), nullable=False),
        sa.Column("receiver_wa_id", sa.String(64)),
        sa.Column("sender_wallet", sa.String(2048), nullable=False),
        sa.Column("cadence", sa.String(32), nullable=False),
        sa.Column("interval", sa.String(32), nullable=False),
        sa.Column("allowance", sa.Text, nullable=False),
        sa.Column("quote", sa.Text, nullable=False),
        sa.Column("link_id", sa.String(64)),
        sa.Column("source_message_id", sa.String(256), nullable=False),
        sa.Column("confirmed_by", sa.String(256)),
        sa.Column("first_run_at", sa.Float),
        sa.Column("slot", sa.Integer, nullable=False),
        sa.Column("next_run_at", sa.Float),
        sa.Column("run_number", sa.Integer, nullable=False),
        sa.Column("run_pending", sa.Integer, nullable=False),
        sa.Column("run_started_at", sa.Float),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", sa.Float),
        sa.Column("next_check_at", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_ws_schedules_wa_id", "ws_schedules", ["wa_id"])
    op.create_index("ix_ws_schedules_next_run_at", "ws_schedules", ["next_run_at"])
    op.create_index("ix_ws_schedules_next_check_at", "ws_schedules", ["next_check_at"])
