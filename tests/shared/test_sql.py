"""shared/sql.py, the run-time data layer, on both databases: statements, RETURNING, claims,
transactions, group commit, constraint errors, and rows SQLAlchemy wrote (the schema's and the
migrations' tool) read back the same."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, DateTime, Float, Integer, MetaData, String, Table, Text, insert
from sqlalchemy import select as sa_select

import shared.sql
from shared.db import create_engine
from shared.sql import (
    Database,
    DatabaseError,
    IntegrityError,
    as_time,
    from_json,
    open_database,
    to_json,
)

PG_URL = "postgresql://postgres@127.0.0.1/test"


def table(name: str) -> Table:
    return Table(
        name,
        MetaData(),
        Column("id", String(64), primary_key=True),
        Column("status", String(16), nullable=False),
        Column("n", Integer, nullable=False, default=0),
        Column("due", Float),
        Column("at", DateTime(timezone=True)),
        Column("doc", Text),
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def made(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Database, Table, str]]:
    """A table made by SQLAlchemy (as the migrations make them) and the data layer on it."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    url = None if request.param == "sqlite" else PG_URL
    engine = create_engine(url, tmp_path / "db.sqlite3")
    schema = table(name)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(schema.metadata.create_all)
    except OSError as exc:  # pragma: no cover - depends on the machine
        await engine.dispose()
        pytest.skip(f"PostgreSQL not available: {exc}")
    db = await open_database(url, tmp_path / "db.sqlite3")
    try:
        yield db, schema, request.param
    finally:
        await db.close()
        async with engine.begin() as conn:
            await conn.run_sync(schema.metadata.drop_all)
        await engine.dispose()


async def test_statements_and_returning(made: tuple[Database, Table, str]) -> None:
    db, t, _ = made
    insert_row = f"INSERT INTO {t.name} (id, status, n, due, doc) VALUES ($1, $2, 0, $3, $4)"
    await db.execute(insert_row, "a", "pending", 1.5, to_json({"x": [1, 2]}))
    await db.executemany(insert_row, [("b", "pending", 2.5, None), ("c", "done", 3.5, None)])
    with pytest.raises(IntegrityError):
        await db.execute(insert_row, "a", "pending", 9.0, None)
    assert (
        await db.execute(
            f"INSERT INTO {t.name} (id, status, n) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING",
            "a",
            "x",
        )
        == 0
    )

    row = await db.fetchrow(f"SELECT * FROM {t.name} WHERE id = $1", "a")
    assert row is not None
    assert row["due"] == 1.5
    assert from_json(row["doc"]) == {"x": [1, 2]}
    assert await db.fetchval(f"SELECT count(*) FROM {t.name} WHERE status = $1", "pending") == 2
    rows = await db.read(
        f"SELECT id FROM {t.name} WHERE id {db.one_of('$1')} ORDER BY id",
        db.array(["a", "c", "zz"]),
    )
    assert [r["id"] for r in rows] == ["a", "c"]

    # A conditional UPDATE tells who won; RETURNING hands back the rows it changed.
    assert (
        await db.execute(
            f"UPDATE {t.name} SET status = 'done' WHERE id = $1 AND status = 'pending'", "b"
        )
        == 1
    )
    assert (
        await db.execute(
            f"UPDATE {t.name} SET status = 'done' WHERE id = $1 AND status = 'pending'", "b"
        )
        == 0
    )
    claimed = await db.fetch(
        f"UPDATE {t.name} SET n = n + 1 WHERE id IN (SELECT id FROM {t.name} WHERE status = $1 "
        f"ORDER BY due LIMIT 5{db.skip_locked}) RETURNING id, n",
        "done",
    )
    assert sorted((r["id"], r["n"]) for r in claimed) == [("b", 1), ("c", 1)]


async def test_transactions_commit_or_roll_back(made: tuple[Database, Table, str]) -> None:
    db, t, _ = made
    async with db.transaction() as tx:
        await tx.execute(f"INSERT INTO {t.name} (id, status, n) VALUES ($1, 'p', 0)", "a")
        assert await tx.fetchval(f"SELECT count(*) FROM {t.name}") == 1

    async def insert_then(ids: list[str], error: Exception | None) -> None:
        async with db.transaction() as tx:
            for row_id in ids:
                await tx.execute(
                    f"INSERT INTO {t.name} (id, status, n) VALUES ($1, 'p', 0)", row_id
                )
            if error is not None:
                raise error

    with pytest.raises(RuntimeError):
        await insert_then(["b"], RuntimeError("changed my mind"))
    with pytest.raises(IntegrityError):
        await insert_then(["c", "a"], None)
    assert [r["id"] for r in await db.fetch(f"SELECT id FROM {t.name}")] == ["a"]


async def test_concurrent_writers_all_land_once(made: tuple[Database, Table, str]) -> None:
    """Many single writes at once (group-committed on SQLite) and transactions among them: each
    write lands, one refused by a constraint leaves the others in."""
    db, t, _ = made
    await db.execute(f"INSERT INTO {t.name} (id, status, n) VALUES ('dup', 'p', 0)")

    async def one(i: int) -> str:
        try:
            await db.execute(
                f"INSERT INTO {t.name} (id, status, n) VALUES ($1, 'p', $2)",
                "dup" if i == 7 else f"r{i}",
                i,
            )
        except IntegrityError:
            return "refused"
        return "ok"

    async def bump() -> None:
        async with db.transaction() as tx:
            # PostgreSQL reads committed rows: a read-then-write locks the row it read.
            lock = " FOR UPDATE" if db.dialect == "postgresql" else ""
            n = await tx.fetchval(f"SELECT n FROM {t.name} WHERE id = 'dup'{lock}")
            await tx.execute(f"UPDATE {t.name} SET n = $1 WHERE id = 'dup'", n + 1)

    results = await asyncio.gather(*(one(i) for i in range(200)), *(bump() for _ in range(10)))
    assert results.count("refused") == 1
    assert results.count("ok") == 199
    assert await db.fetchval(f"SELECT count(*) FROM {t.name}") == 200
    assert await db.fetchval(f"SELECT n FROM {t.name} WHERE id = 'dup'") == 10


async def test_times_read_and_written_like_sqlalchemy(
    made: tuple[Database, Table, str], tmp_path: Path
) -> None:
    db, t, kind = made
    when = datetime(2026, 11, 30, 12, 30, 15, 250_000, tzinfo=UTC)
    engine = create_engine(None if kind == "sqlite" else PG_URL, tmp_path / "db.sqlite3")
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(t).values(id="old", status="p", n=0, at=when))
        await db.execute(
            f"INSERT INTO {t.name} (id, status, n, at) VALUES ($1, 'p', 0, $2)",
            "new",
            when + timedelta(seconds=1),
        )
        rows = await db.fetch(f"SELECT id, at FROM {t.name} WHERE at >= $1 ORDER BY at", when)
        assert [(r["id"], as_time(r["at"])) for r in rows] == [
            ("old", when),
            ("new", when + timedelta(seconds=1)),
        ]
        async with engine.connect() as conn:
            back = (await conn.execute(sa_select(t.c.at).where(t.c.id == "new"))).scalar_one()
        assert as_time(back) == when + timedelta(seconds=1)
    finally:
        await engine.dispose()


async def test_a_transaction_cancelled_midway_leaves_nothing_and_frees_the_writer(
    made: tuple[Database, Table, str],
) -> None:
    db, t, _ = made
    entered = asyncio.Event()

    async def slow() -> None:
        async with db.transaction() as tx:
            await tx.execute(f"INSERT INTO {t.name} (id, status, n) VALUES ('gone', 'p', 0)")
            entered.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(slow())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(
        db.execute(f"INSERT INTO {t.name} (id, status, n) VALUES ('after', 'p', 0)"), 5
    )
    assert [r["id"] for r in await db.fetch(f"SELECT id FROM {t.name}")] == ["after"]


async def test_a_batch_is_one_transaction_with_each_statements_outcome(
    made: tuple[Database, Table, str],
) -> None:
    db, t, _ = made
    done = await db.batch(
        [
            (f"INSERT INTO {t.name} (id, status, n) VALUES ($1, 'p', 0), ($2, 'p', 0)", ["a", "b"]),
            (f"UPDATE {t.name} SET n = n + 1 WHERE status = $1 RETURNING id", ["p"]),
            (f"UPDATE {t.name} SET status = 'done' WHERE id = $1", ["a"]),
            (f"SELECT count(*) AS n FROM {t.name}", []),
        ]
    )
    assert done[0].count == 2
    assert sorted(r["id"] for r in done[1].rows) == ["a", "b"]
    assert (done[2].rows, done[2].count) == ([], 1)
    assert done[3].rows == [{"n": 2}]
    # One refused statement undoes the batch's earlier ones, and nothing else.
    other = asyncio.create_task(
        db.execute(f"INSERT INTO {t.name} (id, status, n) VALUES ('c', 'p', 0)")
    )
    with pytest.raises(IntegrityError):
        await db.batch(
            [
                (f"UPDATE {t.name} SET n = 99 WHERE id = $1", ["b"]),
                (f"INSERT INTO {t.name} (id, status, n) VALUES ($1, 'p', 0)", ["a"]),
            ]
        )
    await other
    rows = await db.fetch(f"SELECT id, n FROM {t.name} ORDER BY id")
    assert [(r["id"], r["n"]) for r in rows] == [("a", 1), ("b", 1), ("c", 0)]


async def test_opening_waits_for_a_writer_that_holds_the_file(tmp_path: Path) -> None:
    """A database opened while another connection writes (a service starting while its
    migrations child still works, or a replica starting beside another): switching to WAL is
    refused at once with "database is locked", which SQLite's busy timeout does not cover; the
    open waits for the writer and succeeds."""
    path = tmp_path / "held.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (n INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t (n) VALUES (1)")

    async def open_and_write() -> int:
        db = await open_database(None, path)
        try:
            await db.execute("INSERT INTO t (n) VALUES (2)")
            return int(await db.fetchval("SELECT COUNT(*) FROM t"))
        finally:
            await db.close()

    opening = asyncio.create_task(open_and_write())
    await asyncio.sleep(0.5)
    if opening.done():
        opening.result()  # raises what refused it ("database is locked")
        pytest.fail("opened and wrote while another connection held the file")
    holder.execute("COMMIT")
    holder.close()
    assert await asyncio.wait_for(opening, 30) == 2


async def test_writes_wait_for_another_process_holding_the_write_lock(tmp_path: Path) -> None:
    """The writer waits for the write lock in short steps of its own (its busy timeout is 0:
    SQLite's handler sleeps whole milliseconds), as long as another connection holds it; both
    a single statement and a transaction then go through."""
    path = tmp_path / "shared.sqlite3"
    db = await open_database(None, path)
    await db.execute("CREATE TABLE t (n INTEGER)")
    holder = sqlite3.connect(path, isolation_level=None)  # another process's connection
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t (n) VALUES (1)")

    async def transaction() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO t (n) VALUES (3)")

    try:
        writes = [
            asyncio.create_task(db.execute("INSERT INTO t (n) VALUES (2)")),
            asyncio.create_task(transaction()),
        ]
        await asyncio.sleep(0.3)
        assert not any(w.done() for w in writes), [w.exception() for w in writes if w.done()]
        holder.execute("COMMIT")
        await asyncio.wait_for(asyncio.gather(*writes), 30)
        assert sorted(r["n"] for r in await db.read("SELECT n FROM t")) == [1, 2, 3]
    finally:
        holder.close()
        await db.close()


async def test_a_writer_gives_up_on_a_write_lock_held_past_its_patience(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past WRITE_LOCK_PATIENCE (30 s; shortened here) the write fails with SQLite's own
    "database is locked" rather than waiting for ever, and the next write goes through."""
    monkeypatch.setattr(shared.sql, "WRITE_LOCK_PATIENCE", 0.3)
    path = tmp_path / "shared.sqlite3"
    db = await open_database(None, path)
    await db.execute("CREATE TABLE t (n INTEGER)")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseError, match="locked"):
            await db.execute("INSERT INTO t (n) VALUES (1)")
        assert 0.3 <= time.monotonic() - started < 10
        holder.execute("COMMIT")
        assert await db.execute("INSERT INTO t (n) VALUES (2)") == 1
    finally:
        holder.close()
        await db.close()
