"""Recent turns per wa_id: newest last, capped, expiring after the TTL, kept in the database."""

from __future__ import annotations

import asyncio
from pathlib import Path

from llm_back.memory import Memory, Turn
from shared.db import create_engine


async def test_turns_expire_and_stay_per_user(tmp_path: Path):
    engine = create_engine(None, tmp_path / "memory.sqlite3")
    memory = Memory(engine, ttl_seconds=1, max_turns=3)
    await memory.start()
    try:
        for n in range(5):
            await memory.remember("a", Turn(f"m{n}", "other", None, None, None))
        await memory.remember("b", Turn("hello", "greeting", None, None, None))
        assert [t.text for t in await memory.recent("a")] == ["m2", "m3", "m4"]
        assert [t.text for t in await memory.recent("b")] == ["hello"]
        await asyncio.sleep(1.1)
        assert await memory.recent("a") == []
        # Writing prunes what expired, so the table does not grow without bound.
        await memory.remember("c", Turn("x" * 900, "other", None, None, None))
        async with engine.connect() as conn:
            count = (await conn.exec_driver_sql("SELECT count(*) FROM llm_turns")).scalar()
        assert count == 1
        assert len((await memory.recent("c"))[0].text) == 500
    finally:
        await engine.dispose()
