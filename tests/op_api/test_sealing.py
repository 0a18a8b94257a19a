"""Issue 14: GNAP tokens are sealed at rest. op_api's database file (a backup, a copied disk)
holds no token that could move money, and rows written before sealing are still read."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from op_api.records import StoredToken
from op_api.schema import build_table
from op_api.sealing import PREFIX, TokenSealer, UnsealError
from op_api.store import PaymentStore, utcnow
from shared.db import create_engine
from tests.op_api.harness import run_async

TOKEN = StoredToken(value="GNAP-SECRET-ACCESS-TOKEN", manage="https://as.example/token/1")
CONTINUE = "GNAP-SECRET-CONTINUE-TOKEN"


def test_tokens_are_sealed_in_the_database_and_open_in_the_store(tmp_path: Path) -> None:
    async def scenario() -> None:
        path = tmp_path / "op.sqlite3"
        store = await PaymentStore.open(None, path, sealer=TokenSealer.from_secret("k1"))
        await store.create_schema()
        payment_id = uuid.uuid4().hex
        await store.insert(
            id=payment_id,
            fingerprint="f",
            expires_at=utcnow() + timedelta(minutes=5),
            incoming_token=TOKEN.dump(),
            continue_token=CONTINUE,
        )
        await store.update(payment_id, outgoing_token=TOKEN.dump(), interact_ref="ref-secret")
        record = await store.get(payment_id)
        assert record is not None
        assert record.incoming_token == record.outgoing_token == TOKEN
        assert record.continue_token == CONTINUE
        await store.close()
        raw = path.read_bytes()  # the file itself, as a backup would hold it
        for secret in (TOKEN.value, CONTINUE, "ref-secret"):
            assert secret.encode() not in raw
        assert PREFIX.encode() in raw

        other = await PaymentStore.open(None, path, sealer=TokenSealer.from_secret("k2"))
        with pytest.raises(UnsealError):
            await other.get(payment_id)
        await other.close()

    run_async(scenario())


def test_rows_written_before_sealing_are_still_read(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = await PaymentStore.open(
            None, tmp_path / "op.sqlite3", sealer=TokenSealer.from_secret("k1")
        )
        await store.create_schema()
        now = utcnow()
        # What an older op_api wrote: plain JSON and text.
        await store.db.execute(
            "INSERT INTO op_payments (id, fingerprint, status, expires_at, created_at,"
            " updated_at, incoming_token, continue_token, op_attempts)"
            " VALUES ('old', 'f', 'awaiting_approval', $1, $1, $1, $2, $3, 0)",
            now,
            json.dumps(TOKEN.dump()),
            CONTINUE,
        )
        record = await store.get("old")
        assert record is not None
        assert record.incoming_token == TOKEN
        assert record.continue_token == CONTINUE
        # Written again, it is sealed.
        await store.update("old", continue_token=CONTINUE)
        raw = await store.db.read("SELECT continue_token FROM op_payments")
        assert raw[0]["continue_token"].startswith(PREFIX)
        await store.close()

    run_async(scenario())


def test_the_stored_format_is_the_one_the_sqlalchemy_column_types_wrote(tmp_path: Path) -> None:
    """Rows sealed by op_api before the plain-SQL store (SQLAlchemy column types, still in
    `op_api.schema`) open in the store, and the store's rows open there: byte for byte the
    same format."""

    async def scenario() -> None:
        path = tmp_path / "op.sqlite3"
        sealer = TokenSealer.from_secret("k1")
        store = await PaymentStore.open(None, path, sealer=sealer)
        await store.create_schema()
        table = build_table("op_", sealer)
        engine = create_engine(None, path)
        now = utcnow()
        async with engine.begin() as conn:
            await conn.execute(
                insert(table).values(
                    id="then",
                    fingerprint="f",
                    status="awaiting_approval",
                    expires_at=now,
                    created_at=now,
                    updated_at=now,
                    op_attempts=0,
                    incoming_token=TOKEN.dump(),
                    continue_token=CONTINUE,
                    interact_ref="ref",
                )
            )
        then = await store.get("then")
        assert then is not None
        assert (then.incoming_token, then.continue_token, then.interact_ref) == (
            TOKEN,
            CONTINUE,
            "ref",
        )
        await store.insert(
            id="now",
            fingerprint="f",
            expires_at=now,
            quote_token=TOKEN.dump(),
            continue_token=CONTINUE,
        )
        async with engine.connect() as conn:
            row = (await conn.execute(select(table).where(table.c.id == "now"))).one()
        assert (row.quote_token, row.continue_token) == (TOKEN.dump(), CONTINUE)
        stored = await store.db.read("SELECT quote_token FROM op_payments WHERE id = 'now'")
        assert json.loads(stored[0]["quote_token"]).startswith(PREFIX)  # a JSON string
        await engine.dispose()
        await store.close()

    run_async(scenario())
