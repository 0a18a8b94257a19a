"""Each inbox row keeps its message's own time, so a user's messages are handled in the order
they were sent even when Meta delivers them out of order (issue 15).

Revision ID: ws0003
Revises: ws0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ws0003"
down_revision = "ws0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("ws_inbox")}
    if "sent_at" not in columns:
        op.add_column("ws_inbox", sa.Column("sent_at", sa.Float, nullable=True))
