"""The gateway's tables, as SQLAlchemy describes them: for the migrations (`ws_bot.migrations`,
Alembic) and the tests that check the database has no drift from them. The service itself does
not import this module at run time; its repositories (`*_store.py`) speak plain SQL
(`shared.sql`) to these same tables.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)

metadata = MetaData()

# inbox_store.py
inbox = Table(
    "ws_inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(256), nullable=False, unique=True),
    Column("wa_id", String(64), nullable=False, index=True),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False, default="pending", index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_owner", String(64)),
    Column("lease_until", Float),
    Column("received_at", Float, nullable=False),
    Column("sent_at", Float),  # the message's own timestamp: rows are handled in this order
)
# Each user's pending rows in the order they are handled: the claim's "an earlier pending row of
# this user?" and "one of theirs leased?" are seeks here, not reads of every pending row.
Index(
    "ix_ws_inbox_pending_order",
    inbox.c.wa_id,
    func.coalesce(inbox.c.sent_at, inbox.c.received_at),
    inbox.c.id,
    sqlite_where=text("status = 'pending'"),
    postgresql_where=text("status = 'pending'"),
)

# inbox_store.py
# Signed webhook bodies exactly as received, stored before the 200. The inbox worker splits each
# into messages (ws_inbox), or marks it "bad" with the reason when it does not split.
webhooks = Table(
    "ws_webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("body", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False, default="pending", index=True),
    Column("note", String(256)),
    Column("received_at", Float, nullable=False),
)

# user_store.py
users = Table(
    "ws_users",
    metadata,
    Column("wa_id", String(64), primary_key=True),
    Column("name", String(256), nullable=False, default=""),
    Column("language", String(8)),
    Column("wallet_url", String(2048)),
    Column("wallet_asset", String(16)),
    Column("state", String(16), nullable=False, default="new"),
    Column("pending", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# user_store.py
last_inbound = Table(
    "ws_last_inbound",
    metadata,
    Column("wa_id", String(64), primary_key=True),
    Column("at", Float, nullable=False),  # the newest timestamp of a message the user sent
)

# contact_store.py
contacts = Table(
    "ws_contacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner", String(64), nullable=False, index=True),
    Column("alias", String(128), nullable=False),
    Column("alias_key", String(128), nullable=False),
    Column("wallet_url", String(2048)),
    Column("phone", String(32)),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("owner", "alias_key", name="uq_ws_contacts_owner_alias"),
)

# draft_store.py
drafts = Table(
    "ws_drafts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("wa_id", String(64), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("amount", String(64)),
    Column("currency", String(8)),
    Column("recipient_label", String(256)),
    Column("receiver_wallet", String(2048)),
    Column("receiver_wa_id", String(64)),
    Column("source_message_id", String(256), nullable=False),
    Column("payment_id", String(64)),
    Column("quote", Text),
    Column("confirmed_by", String(256)),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# turn_store.py
turns = Table(
    "ws_turns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("wa_id", String(64), nullable=False, index=True),
    Column("at", Float, nullable=False),
    Column("text", Text, nullable=False),
    Column("intent", String(32), nullable=False),
    Column("monto", String(64)),
    Column("currency", String(8)),
    Column("destinatario", Text),
)

# payment_store.py
payments = Table(
    "ws_payments",
    metadata,
    Column("payment_id", String(64), primary_key=True),
    Column("wa_id", String(64), nullable=False, index=True),
    Column("draft_id", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("recipient_label", String(256), nullable=False, default=""),
    Column("receiver_wallet", String(2048), nullable=False, default=""),
    Column("receiver_wa_id", String(64)),
    Column("debit", Text),
    Column("receive", Text),
    Column("react_message_id", String(256)),
    Column("deadline", Float, nullable=False),
    Column("next_poll_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_owner", String(64)),
    Column("lease_until", Float),
    Column("notified", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# notice_store.py
sent_notices = Table(
    "ws_sent_notices",
    metadata,
    Column("message_id", String(256), primary_key=True),
    Column("wa_id", String(64), nullable=False),
    Column("template", String(128), nullable=False),
    Column("language", String(8), nullable=False),
    Column("params", Text, nullable=False),
    Column("fell_back", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False, index=True),
)

# request_store.py
money_requests = Table(
    "ws_money_requests",
    metadata,  # created with the gateway's other tables
    Column("id", String(64), primary_key=True),
    Column("requester", String(64), nullable=False, index=True),
    Column("payer", String(64), index=True),
    Column("payer_label", String(256), nullable=False, default=""),
    Column("amount", Text, nullable=False),  # MoneyView as JSON
    Column("op_request_id", Text, nullable=False),
    Column("incoming_payment_url", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("next_check_at", Float, nullable=False, index=True),
    # The payer was shown Pay / Decline (outside the 24-hour window only the template goes
    # out; the buttons follow the payer's next message).
    Column("offered", Integer, nullable=False, default=0),
)

# link_store.py
links = Table(
    "ws_links",
    metadata,  # created with the gateway's other tables
    Column("id", String(64), primary_key=True),  # op_api's link id
    Column("wa_id", String(64), nullable=False, index=True),
    Column("wallet_url", String(2048), nullable=False, index=True),
    Column("status", String(24), nullable=False),
    Column("allowance", Text),  # {"amount", "assetCode", "interval"} as JSON; null: none
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("next_check_at", Float, nullable=False, index=True),
)

# schedule_store.py
schedules = Table(
    "ws_schedules",
    metadata,  # created with the gateway's other tables
    Column("id", String(64), primary_key=True),
    Column("wa_id", String(64), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("amount", String(64), nullable=False),  # what the recipient gets each run
    Column("asset", String(16), nullable=False),
    Column("recipient_label", String(256), nullable=False),
    Column("receiver_wallet", String(2048), nullable=False),
    Column("receiver_wa_id", String(64)),
    Column("sender_wallet", String(2048), nullable=False),
    Column("cadence", String(32), nullable=False),  # as the user asked it, e.g. "P1M"
    Column("interval", String(32), nullable=False),  # what runs (and the allowance) follow
    Column("allowance", Text, nullable=False),  # MoneyView (JSON): the link's limit per interval
    Column("quote", Text, nullable=False),  # texts of one run's debit, receive and fee
    Column("link_id", String(64)),
    Column("source_message_id", String(256), nullable=False),
    Column("confirmed_by", String(256)),
    Column("first_run_at", Float),
    Column("slot", Integer, nullable=False, default=0),  # next_run_at = run_at(first, slot)
    Column("next_run_at", Float, index=True),
    Column("run_number", Integer, nullable=False, default=0),  # runs claimed so far
    Column("run_pending", Integer, nullable=False, default=0),  # the last claimed run is open
    Column("run_started_at", Float),
    Column("lease_owner", String(64)),
    Column("lease_until", Float),
    Column("next_check_at", Float, nullable=False, index=True),  # following the link
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
