"""Issue 12: schema changes go through Alembic. A database made by release 0d3dbba, with data in
it, is recognised (no version table yet), upgraded to today's schema and loses nothing; a second
upgrade changes nothing; on SQLite and PostgreSQL alike.

The 0d3dbba schema is reproduced here as that release's table definitions (SQLAlchemy Core,
created with `create_all` as the release did), not imported: this is the oracle the migrations
are checked against, so it must not move when they do.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
import warnings
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from op_api import migrations as op_migrations
from op_api.schema import SealedJSON, SealedText, build_metadata
from op_api.sealing import TokenSealer
from op_api.store import PaymentStore, batch_codec, payment_codec
from shared import migrations as shared_migrations
from shared.db import create_engine
from shared.migrations import MigrationError, Migrations
from shared.sql import open_database
from tests.shared.test_services import SERVICES
from tests.support.processes import console_script
from ws_bot import schema as ws_schema
from ws_bot.migrations import MIGRATIONS as WS_MIGRATIONS
from ws_bot.store import Store

SERVER = "postgresql+asyncpg://postgres@127.0.0.1/postgres"
pytestmark = pytest.mark.migrations_child  # as a service does it

# ------------------------------------------------------------------ release 0d3dbba's schema


def old_payments(prefix: str) -> Table:
    return Table(
        f"{prefix}payments",
        MetaData(),
        Column("id", String(64), primary_key=True),
        Column("idempotency_key", String(256), unique=True, nullable=True),
        Column("fingerprint", String(64), nullable=False),
        Column("status", String(32), nullable=False, index=True),
        Column("failure_reason", Text, nullable=True),
        Column("sender", JSON, nullable=True),
        Column("receiver", JSON, nullable=True),
        Column("debit_amount", JSON, nullable=True),
        Column("receive_amount", JSON, nullable=True),
        Column("sent_amount", JSON, nullable=True),
        Column("received_amount", JSON, nullable=True),
        Column("description", Text, nullable=True),
        Column("incoming_payment_url", Text, nullable=True),
        Column("incoming_token", JSON, nullable=True),
        Column("quote_url", Text, nullable=True),
        Column("quote_expires_at", DateTime(timezone=True), nullable=True),
        Column("quote_token", JSON, nullable=True),
        Column("confirmation_url", Text, nullable=True),
        Column("continue_uri", Text, nullable=True),
        Column("continue_token", Text, nullable=True),
        Column("continue_wait", Integer, nullable=True),
        Column("next_poll_at", DateTime(timezone=True), nullable=True),
        Column("continue_claimed_at", DateTime(timezone=True), nullable=True),
        Column("finish_nonce", Text, nullable=True),
        Column("as_finish_nonce", Text, nullable=True),
        Column("outgoing_token", JSON, nullable=True),
        Column("op_claimed_at", DateTime(timezone=True), nullable=True),
        Column("op_uncertain_since", DateTime(timezone=True), nullable=True),
        Column("op_attempts", Integer, nullable=False, default=0),
        Column("op_next_attempt_at", DateTime(timezone=True), nullable=True),
        Column("outgoing_payment_url", Text, nullable=True),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        Column("sending_since", DateTime(timezone=True), nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )


OLD_WS = MetaData()
Table(
    "ws_inbox",
    OLD_WS,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(256), nullable=False, unique=True),
    Column("wa_id", String(64), nullable=False, index=True),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False, default="pending", index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_owner", String(64)),
    Column("lease_until", Float),
    Column("received_at", Float, nullable=False),
)
Table(
    "ws_users",
    OLD_WS,
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
Table(
    "ws_contacts",
    OLD_WS,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner", String(64), nullable=False, index=True),
    Column("alias", String(128), nullable=False),
    Column("alias_key", String(128), nullable=False),
    Column("wallet_url", String(2048)),
    Column("phone", String(32)),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("owner", "alias_key", name="uq_ws_contacts_owner_alias"),
)
Table(
    "ws_drafts",
    OLD_WS,
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
Table(
    "ws_payments",
    OLD_WS,
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

# ------------------------------------------------------------------ rows a user of 0d3dbba had


def wallet(name: str, asset: str) -> dict[str, Any]:
    return {
        "id": f"https://wallet.example/{name}",
        "assetCode": asset,
        "assetScale": 2,
        "authServer": "https://as.example",
        "resourceServer": "https://wallet.example",
    }


AT = datetime(2026, 11, 1, 12, 30, 15, tzinfo=UTC)
TOKEN = {"value": "GNAP-OLD-ACCESS-TOKEN", "manage": "https://as.example/token/9"}
PAYMENT: dict[str, Any] = {
    "id": "pay-0d3dbba",
    "idempotency_key": "idem-1",
    "fingerprint": "f" * 64,
    "status": "awaiting_approval",
    "sender": wallet("alice", "USD"),
    "receiver": wallet("bob", "MXN"),
    "debit_amount": {"value": "1025", "assetCode": "USD", "assetScale": 2},
    "receive_amount": {"value": "17500", "assetCode": "MXN", "assetScale": 2},
    "description": "tacos ñ",
    "incoming_payment_url": "https://wallet.example/bob/incoming-payments/1",
    "incoming_token": TOKEN,
    "quote_url": "https://wallet.example/alice/quotes/1",
    "quote_expires_at": AT + timedelta(minutes=5),
    "quote_token": {"value": "GNAP-QUOTE", "manage": "https://as.example/token/8"},
    "confirmation_url": "https://as.example/interact/1",
    "continue_uri": "https://as.example/continue/1",
    "continue_token": "GNAP-OLD-CONTINUE-TOKEN",
    "continue_wait": 5,
    "next_poll_at": AT + timedelta(seconds=5),
    "finish_nonce": "nonce-1",
    "op_attempts": 2,
    "expires_at": AT + timedelta(minutes=30),
    "created_at": AT,
    "updated_at": AT + timedelta(seconds=1),
}
WS_ROWS: dict[str, dict[str, Any]] = {
    "ws_inbox": {
        "id": 7,
        "message_id": "wamid.OLD1",
        "wa_id": "15550001111",
        "payload": '{"text": {"body": "send 5 to bob"}}',
        "status": "done",
        "attempts": 1,
        "lease_owner": None,
        "lease_until": None,
        "received_at": 1_790_000_000.25,
    },
    "ws_users": {
        "wa_id": "15550001111",
        "name": "Pía",
        "language": "es",
        "wallet_url": "https://wallet.example/alice",
        "wallet_asset": "USD",
        "state": "ready",
        "pending": '{"step": "none"}',
        "created_at": 1_789_000_000.5,
        "updated_at": 1_790_000_000.5,
    },
    "ws_contacts": {
        "id": 3,
        "owner": "15550001111",
        "alias": "Bob",
        "alias_key": "bob",
        "wallet_url": "https://wallet.example/bob",
        "phone": "+15550002222",
        "updated_at": 1_790_000_001.0,
    },
    "ws_drafts": {
        "id": "draft-1",
        "wa_id": "15550001111",
        "status": "quoted",
        "amount": "5.00",
        "currency": "USD",
        "recipient_label": "Bob",
        "receiver_wallet": "https://wallet.example/bob",
        "receiver_wa_id": "15550002222",
        "source_message_id": "wamid.OLD1",
        "payment_id": "pay-0d3dbba",
        "quote": '{"debit": "5.00"}',
        "confirmed_by": None,
        "created_at": 1_790_000_002.0,
        "updated_at": 1_790_000_003.0,
    },
    "ws_payments": {
        "payment_id": "pay-0d3dbba",
        "wa_id": "15550001111",
        "draft_id": "draft-1",
        "status": "awaiting_approval",
        "recipient_label": "Bob",
        "receiver_wallet": "https://wallet.example/bob",
        "receiver_wa_id": "15550002222",
        "debit": '{"value": "500"}',
        "receive": '{"value": "8750"}',
        "react_message_id": "wamid.OLD1",
        "deadline": 1_790_003_600.0,
        "next_poll_at": 1_790_000_010.0,
        "attempts": 0,
        "lease_owner": None,
        "lease_until": None,
        "notified": 0,
        "created_at": 1_790_000_004.0,
        "updated_at": 1_790_000_005.0,
    },
}

# ------------------------------------------------------------------ databases


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An empty database of the test's own: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        db = create_engine(None, tmp_path / "old.sqlite3")
        yield db
        await db.dispose()
        return
    name = f"migrations_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(SERVER, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        await admin.dispose()
        pytest.skip(f"PostgreSQL not available: {exc}")
    db = create_engine(f"postgresql://postgres@127.0.0.1/{name}", tmp_path / "unused")
    try:
        yield db
    finally:
        await db.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def schema_drift(conn: Connection, metadata: MetaData, tables: set[str]) -> list[Any]:
    """What differs between the database and today's table definitions (nothing, we assert)."""
    context = MigrationContext.configure(
        conn, opts={"include_name": lambda name, kind, _: kind != "table" or name in tables}
    )
    with warnings.catch_warnings():
        # Indexes on expressions are skipped on SQLite (see `index_definitions`).
        warnings.filterwarnings("ignore", message=".*expression-based index")
        return list(compare_metadata(context, metadata))


def index_definitions(conn: Connection, table: str) -> dict[str, str]:
    """Each index of `table` and the SQL that defines it, as the database reports it."""
    if conn.dialect.name == "sqlite":
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
    else:
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t"
    return {name: sql or "" for name, sql in conn.execute(text(query), {"t": table})}


async def rows(db: AsyncEngine, table: Table) -> list[dict[str, Any]]:
    async with db.connect() as conn:
        return [dict(r._mapping) for r in (await conn.execute(select(table)))]


def as_utc(row: dict[str, Any]) -> dict[str, Any]:
    """SQLite hands naive datetimes back; they were written as UTC."""
    return {
        k: v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v
        for k, v in row.items()
    }


# ------------------------------------------------------------------ op_api


async def test_op_api_database_from_0d3dbba_is_upgraded_without_losing_a_row(
    engine: AsyncEngine,
) -> None:
    prefix = f"op_m{uuid.uuid4().hex[:8]}_"
    old = old_payments(prefix)
    async with engine.begin() as conn:
        await conn.run_sync(old.metadata.create_all)
        await conn.execute(insert(old).values(**PAYMENT))
    before = await rows(engine, old)

    store = await PaymentStore.open(
        engine.url.render_as_string(hide_password=False),
        Path("unused"),
        prefix,
        sealer=TokenSealer.from_secret("k"),
    )
    await store.create_schema()

    assert [as_utc(r) for r in await rows(engine, old)] == [as_utc(r) for r in before]
    record = await store.get(PAYMENT["id"])  # today's code, sealed columns and all, reads it
    assert record is not None
    assert record.status.value == "awaiting_approval"
    assert record.incoming_token is not None
    assert record.incoming_token.value == TOKEN["value"]
    assert record.continue_token == "GNAP-OLD-CONTINUE-TOKEN"
    assert record.debit_amount is not None
    assert record.debit_amount.value == "1025"
    assert record.status_reason is None
    assert record.interact_ref is None
    async with engine.connect() as conn:
        version = (await conn.execute(text(f'SELECT * FROM "{prefix}alembic_version"'))).all()
        assert version == [("op0004_links",)]
        metadata = build_metadata(prefix, TokenSealer.from_secret("k"))
        drift = await conn.run_sync(schema_drift, metadata, set(metadata.tables))
    assert drift == []

    await store.create_schema()  # a second upgrade is a no-op
    assert [as_utc(r) for r in await rows(engine, old)] == [as_utc(r) for r in before]
    await store.close()


async def test_op_api_fresh_database_gets_todays_schema(engine: AsyncEngine) -> None:
    prefix = f"op_f{uuid.uuid4().hex[:8]}_"
    store = await PaymentStore.open(
        engine.url.render_as_string(hide_password=False),
        Path("unused"),
        prefix,
        sealer=TokenSealer.from_secret("k"),
    )
    await store.create_schema()
    await store.create_schema()
    metadata = build_metadata(prefix, TokenSealer.from_secret("k"))
    async with engine.connect() as conn:
        assert await conn.run_sync(schema_drift, metadata, set(metadata.tables)) == []
    await store.drop_schema()
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
    assert not [n for n in names if n.startswith(prefix)]
    await store.close()


def test_op_api_store_knows_every_column_of_todays_schema() -> None:
    """The store's column codecs (which columns are JSON, sealed, timestamps) describe exactly
    the tables the migrations create."""
    sealer = TokenSealer.from_secret("k")
    metadata = build_metadata("op_", sealer)
    payments, batches = metadata.tables["op_payments"], metadata.tables["op_batches"]
    assert payment_codec(sealer).columns == set(payments.c.keys())
    assert batch_codec(sealer).columns == set(batches.c.keys())
    for table, codec in ((payments, payment_codec(sealer)), (batches, batch_codec(sealer))):
        times = {c.name for c in table.c if isinstance(c.type, DateTime)}
        assert codec.times == times
        json_columns = {c.name for c in table.c if isinstance(c.type, JSON)}
        assert codec.json == json_columns
        sealed = {c.name for c in table.c if isinstance(c.type, SealedJSON | SealedText)}
        assert codec.sealed_json | codec.sealed_text == sealed


# ------------------------------------------------------------------ ws_bot


async def open_ws_store(engine: AsyncEngine) -> Store:
    """The gateway's store on the test's database (its own connections)."""
    return await Store.open(engine.url.render_as_string(hide_password=False), Path("unused"))


def todays_ws_tables() -> set[str]:
    return set(ws_schema.metadata.tables)


async def test_ws_bot_database_from_0d3dbba_is_upgraded_without_losing_a_row(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(OLD_WS.create_all)
        for name, row in WS_ROWS.items():
            await conn.execute(insert(OLD_WS.tables[name]).values(**row))

    store = await open_ws_store(engine)
    await store.create()

    for name, row in WS_ROWS.items():
        assert await rows(engine, OLD_WS.tables[name]) == [row], name
    user = await store.users.get("15550001111")  # today's code reads the old rows
    assert user is not None
    assert user.name == "Pía"
    assert user.wallet_url == WS_ROWS["ws_users"]["wallet_url"]
    async with engine.connect() as conn:
        version = (await conn.execute(text("SELECT * FROM ws_alembic_version"))).all()
        assert version == [("ws0006",)]
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        drift = await conn.run_sync(schema_drift, ws_schema.metadata, todays_ws_tables())
    assert todays_ws_tables() <= tables
    assert drift == []

    await store.create()  # a second upgrade is a no-op
    for name, row in WS_ROWS.items():
        assert await rows(engine, OLD_WS.tables[name]) == [row], name
    await store.close()


async def test_ws_bot_fresh_database_gets_todays_schema(engine: AsyncEngine) -> None:
    store = await open_ws_store(engine)
    await store.create()
    await store.create()
    await store.close()
    async with engine.connect() as conn:
        drift = await conn.run_sync(schema_drift, ws_schema.metadata, todays_ws_tables())
        # Alembic cannot compare an index on an expression on SQLite: asked for by name.
        indexes = await conn.run_sync(index_definitions, "ws_inbox")
    assert drift == []
    pending_order = indexes["ix_ws_inbox_pending_order"].lower()
    assert "coalesce(sent_at, received_at)" in pending_order
    assert "where status = 'pending'" in pending_order.replace("::text", "").replace(
        "(", ""
    ).replace(")", "")


async def test_replicas_starting_together_upgrade_once(engine: AsyncEngine) -> None:
    """Several processes upgrading one database at once take turns: replicas on PostgreSQL
    (advisory lock), a ROLE=webhook and a ROLE=worker process on one SQLite file (the write
    lock, taken first)."""
    stores = [await open_ws_store(engine) for _ in range(4)]
    try:
        await asyncio.gather(*(store.create() for store in stores))
    finally:
        for store in stores:
            await store.close()
    async with engine.connect() as conn:
        version = (await conn.execute(text("SELECT * FROM ws_alembic_version"))).all()
        drift = await conn.run_sync(schema_drift, ws_schema.metadata, todays_ws_tables())
    assert version == [("ws0006",)]
    assert drift == []


# ------------------------------------------------------------------ at start-up, in a child


def alembic_head(migrations: Migrations) -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations.script_location))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def test_the_head_each_service_expects_is_its_migrations_head() -> None:
    """A new revision without its service's HEAD moved along would have every start-up
    spawn the migrations and then refuse to start."""
    assert WS_MIGRATIONS.head == alembic_head(WS_MIGRATIONS)
    op = op_migrations.migrations("op_")
    assert op.head == alembic_head(op)


async def test_start_up_migrates_a_fresh_database_and_a_second_start_spawns_no_child(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    children: list[str] = []
    spawn = shared_migrations.run_migrations

    async def counted(migrations: Migrations, url: str) -> None:
        children.append(migrations.version_table)
        await spawn(migrations, url)

    monkeypatch.setattr(shared_migrations, "run_migrations", counted)
    store = await open_ws_store(engine)
    assert await WS_MIGRATIONS.applied(store.db) == set()
    await store.create()
    assert children == ["ws_alembic_version"]
    assert await WS_MIGRATIONS.applied(store.db) == {WS_MIGRATIONS.head}
    await store.close()

    again = await open_ws_store(engine)
    await again.create()
    await again.close()
    assert children == ["ws_alembic_version"]


async def test_start_up_fails_clearly_when_the_migrations_do_not_reach_the_head(
    tmp_path: Path,
) -> None:
    db = await open_database(None, tmp_path / "ws.sqlite3")
    try:
        broken = replace(WS_MIGRATIONS, script_location=tmp_path / "no-such-folder")
        with pytest.raises(MigrationError, match="exit code 1"):
            await broken.ensure(db)
        stale = replace(WS_MIGRATIONS, head="ws9999")  # code newer than its revisions
        with pytest.raises(MigrationError, match="not ws9999"):
            await stale.ensure(db)
    finally:
        await db.close()


def test_a_service_whose_migrations_fail_does_not_start(spawn, tmp_path: Path) -> None:
    """A database already past this code's revisions (a newer release ran): the child fails,
    the service says so and exits non-zero instead of serving on a schema it does not know."""
    path = tmp_path / "newer.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE ws_alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO ws_alembic_version VALUES ('ws9999')")
    script, env = SERVICES["ws_bot"]
    with pytest.raises(RuntimeError, match="exited early"):
        spawn("ws_bot", [console_script(script)], {**env, "DATABASE_URL": f"sqlite:///{path}"})
    logs = (tmp_path / "ws_bot" / "output.log").read_text()  # where `spawn` keeps its output
    assert "schema migrations failed: cannot start" in logs
    assert "Can't locate revision identified by 'ws9999'" in logs
