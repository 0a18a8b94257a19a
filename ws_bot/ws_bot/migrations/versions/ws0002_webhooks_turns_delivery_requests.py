"""Tables added since release 0d3dbba: raw webhook bodies, recent turns, the 24-hour window,
sent notices and money requests.

Revision ID: ws0002
Revises: ws0001

Databases made between the release and this revision got some of these tables from
`create_all`, which preceded Alembic, so only the missing ones are created.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "ws0002"
down_revision = "ws0001"
branch_labels = None
depends_on = None


def _webhooks() -> None:
    op.create_table(
        "ws_webhooks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.String(256)),
        sa.Column("received_at", sa.Float, nullable=False),
    )
    op.create_index("ix_ws_webhooks_status", "ws_webhooks", ["status"])


def _turns() -> None:
    op.create_table(
        "ws_turns",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("wa_id", sa.String(64), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("intent", sa.String(32), nullable=False),
        sa.Column("monto", sa.String(64)),
        sa.Column("currency", sa.String(8)),
        sa.Column("destinatario", sa.Text),
    )
    op.create_index("ix_ws_turns_wa_id", "ws_turns", ["wa_id"])


def _last_inbound() -> None:
    op.create_table(
        "ws_last_inbound",
        sa.Column("wa_id", sa.String(64), primary_key=True),
        sa.Column("at", sa.Float, nullable=False),
    )


def _sent_notices() -> None:
    op.create_table(
        "ws_sent_notices",
        sa.Column("message_id", sa.String(256), primary_key=True),
        sa.Column("wa_id", sa.String(64), nullable=False),
        sa.Column("template", sa.String(128), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("fell_back", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_ws_sent_notices_created_at", "ws_sent_notices", ["created_at"])


def _money_requests() -> None:
    op.create_table(
        "ws_money_requests",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("requester", sa.String(64), nullable=False),
        sa.Column("payer", sa.String(64)),
        sa.Column("payer_label", sa.String(256), nullable=False),
        sa.Column("amount", sa.Text, nullable=False),
        sa.Column("op_request_id", sa.Text, nullable=False),
        sa.Column("incoming_payment_url", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("next_check_at", sa.Float, nullable=False),
        sa.Column("offered", sa.Integer, nullable=False),
    )
    op.create_index("ix_ws_money_requests_requester", "ws_money_requests", ["requester"])
    op.create_index("ix_ws_money_requests_payer", "ws_money_requests", ["payer"])
    op.create_index("ix_ws_money_requests_next_check_at", "ws_money_requests", ["next_check_at"])


ADDED: dict[str, Callable[[], None]] = {
    "ws_webhooks": _webhooks,
    "ws_turns": _turns,
    "ws_last_inbound": _last_inbound,
    "ws_sent_notices": _sent_notices,
    "ws_money_requests": _money_requests,
}


def upgrade() -> None:
    tables = sa.inspect(op.get_bind())
    for name, create in ADDED.items():
        if not tables.has_table(name):
            create()
