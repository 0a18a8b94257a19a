"""An index of each user's pending inbox rows in the order they are handled, for the claim.

The claim asks, for each row it weighs, whether the same user has an earlier pending row or a
leased one. With only the status index each of those questions read every pending row (under a
burst of 3,000 new users, thousands per row weighed); with this partial index each is a seek
among that user's pending rows only.

Revision ID: ws0006
Revises: ws0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ws0006"
down_revision = "ws0005"
branch_labels = None
depends_on = None

NAME = "ix_ws_inbox_pending_order"
PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_index(
        NAME,
        "ws_inbox",
        ["wa_id", sa.text("COALESCE(sent_at, received_at)"), "id"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name="ws_inbox")
