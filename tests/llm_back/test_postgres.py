"""Follow-up memory on PostgreSQL (`DATABASE_URL`): long values fit, and it survives a restart."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.llm_back.support import understand
from tests.support.processes import console_script

pytestmark = pytest.mark.postgres


async def _as_admin(sql: str) -> None:
    engine = create_async_engine(
        "postgresql+asyncpg://postgres@127.0.0.1/postgres", isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    name = f"llm_back_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_as_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL not available: {exc}")
    yield f"postgresql://postgres@127.0.0.1/{name}"
    asyncio.run(_as_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_memory_on_postgres_survives_a_restart(spawn, pg_url):
    proc = spawn("llm_back", [console_script("llm-back")], {"DATABASE_URL": pg_url})
    wallet = "https://wallet.example/" + "a" * 400  # longer than any fixed column would allow
    first = understand(proc.url, {"wa_id": "52199", "message": f"send money to {wallet}"})
    assert first.json()["destinatario"] == wallet
    proc.stop()
    proc.start()
    body = understand(proc.url, {"wa_id": "52199", "message": "25"}).json()
    assert (body["intent"], body["monto"], body["destinatario"]) == ("send_payment", "25", wallet)
