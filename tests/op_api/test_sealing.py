"""Issue 14: GNAP tokens are sealed at rest. op_api's database file (a backup, a copied disk)
holds no token that could move money, and rows written before sealing are still read."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from op_api.records import StoredToken
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
        engine = create_engine(None, tmp_path / "op.sqlite3")
        store = await PaymentStore.open(
            engine.url.render_as_string(hide_password=False),
            Path("unused"),
            sealer=TokenSealer.from_secret("k1"),
        )
        await store.create_schema()
        now = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
        async with engine.begin() as conn:  # what an older op_api wrote: plain JSON and text
            await conn.execute(
                text(
                    "INSERT INTO op_payments (id, fingerprint, status, expires_at, created_at,"
                    " updated_at, incoming_token, continue_token, op_attempts)"
                    " VALUES ('old', 'f', 'awaiting_approval', :now, :now, :now, :token,"
                    " :continue_token, 0)"
                ),
                {"now": now, "token": json.dumps(TOKEN.dump()), "continue_token": CONTINUE},
            )
        record = await store.get("old")
        assert record is not None
        assert record.incoming_token == TOKEN
        assert record.continue_token == CONTINUE
        # Written again, it is sealed.
        await store.update("old", continue_token=CONTINUE)
        async with engine.connect() as conn:
            raw = (await conn.execute(text("SELECT continue_token FROM op_payments"))).scalar_one()
        assert raw.startswith(PREFIX)
        await engine.dispose()

    run_async(scenario())
