"""The services' database at run time: plain SQL on the stdlib `sqlite3` or on `asyncpg`.

Why hand-written and not SQLAlchemy (which still describes the schema and runs the migrations,
as its own step): measured in issue 12, SQLAlchemy + aiosqlite cost 0.59 ms per read and
0.79 ms per write against 0.004 / 0.10 ms for the same statements on the stdlib `sqlite3`, and
SQLAlchemy + asyncpg 0.86 ms against 0.07 ms for asyncpg alone; importing it and its dialects
added 18–25 MiB to every service. What the services need of it is small: run a statement, read
rows, hold a transaction. That is this module.

SQL is written once, in PostgreSQL's dialect with `$1, $2, …` placeholders; on SQLite the
placeholders become `?1, ?2, …` (same numbering). The few spellings that differ are methods of
`Database` (`one_of`/`array` for "column in this list", `skip_locked` for claims).

SQLite: one writer thread owns the only writing connection. Single writes queued together are
*group committed* (each in its own savepoint, one COMMIT for all), so a burst costs one fsync;
a transaction (`async with db.transaction()`) has the writer to itself until it ends. Reads run
on a reader thread with its own connection (WAL: they see the last commit and never wait for the
writer). Every await is one hop to a thread. WAL with synchronous=FULL: when a write returns, its
commit is in the WAL file and fsync'd, so it survives a crash of the process or a power loss.

PostgreSQL: an asyncpg pool; asyncpg prepares each statement once per connection and keeps it
(its statement cache), and the pool does not ping on checkout.

Rows are plain dicts. Timestamp columns (`DateTime(timezone=True)` in the schema) take aware
datetimes on both; read them back with `as_time`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import re
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

from shared.files import private_file

logger = logging.getLogger(__name__)

Row = dict[str, Any]
Dialect = Literal["sqlite", "postgresql"]
Statement = tuple[str, Sequence[Any]]  # SQL and its arguments, for `Database.batch`


@dataclass(frozen=True)
class Outcome:
    """What one statement of a batch did: the rows it returned (SELECT, RETURNING) and, for a
    write, how many rows it changed."""

    rows: list[Row]
    count: int


def _returns_rows(sql: str) -> bool:
    """Does the statement hand back rows (a query, or a write with RETURNING)?"""
    text = " ".join(sql.upper().split())
    return text.startswith(("SELECT", "WITH")) or " RETURNING " in f"{text} "


# How SQLAlchemy stores a DateTime on SQLite (the schema and the rows already written use it):
# UTC wall time, always with microseconds, so that text order is time order.
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
TRANSACTION_IDLE_LIMIT = 60.0  # seconds a transaction may sit idle before the writer drops it


class DatabaseError(Exception):
    """A statement failed for a reason other than a constraint (see `IntegrityError`)."""


class IntegrityError(DatabaseError):
    """A constraint refused the statement (a unique key already there, a NOT NULL missing)."""


def as_time(value: Any) -> datetime | None:
    """A timestamp column read back, as an aware UTC datetime (None stays None)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def to_json(value: Any) -> str | None:
    """A JSON column written compactly (None stays None)."""
    return None if value is None else json.dumps(value, separators=(",", ":"))


def from_json(text: Any) -> Any:
    """A JSON column read back (None or empty stays None)."""
    return json.loads(text) if text else None


@lru_cache(maxsize=2048)
def _sqlite_sql(sql: str) -> str:
    return re.sub(r"\$(\d+)", r"?\1", sql)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime(_SQLITE_TIME)
    return value


def _sqlite_args(args: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(_sqlite_value(value) for value in args)


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


class Executor(ABC):
    """What a statement runs on: the database itself (each write its own commit) or one open
    transaction."""

    @abstractmethod
    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """All rows of a query (or of a write's RETURNING)."""

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return next(iter(row.values())) if row else None

    @abstractmethod
    async def execute(self, sql: str, *args: Any) -> int:
        """Run a write; the number of rows it changed (how a conditional UPDATE tells who won)."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one write for each of `rows`."""


class Database(Executor):
    """A service's database (see the module's docstring)."""

    dialect: Dialect

    @abstractmethod
    def transaction(self) -> Any:
        """`async with db.transaction() as tx:` — statements on `tx` commit together, or none.

        On SQLite a transaction holds the only writer from its first statement to its commit,
        across every await in between: use it when a statement needs an earlier one's answer,
        and `batch` when none does."""

    @abstractmethod
    async def batch(self, statements: Sequence[Statement]) -> list[Outcome]:
        """Run `statements` in order as one transaction (all of them or none), in one hop: on
        SQLite one job for the writer, group-committed with the writes queued beside it, so the
        writer is never held waiting for the caller's next statement."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def read(self, sql: str, *args: Any) -> list[Row]:
        """A query that must not write (on SQLite it runs beside the writer)."""

    def one_of(self, placeholder: str) -> str:
        """SQL for "is one of the list in `placeholder`", whose argument is `array(values)`."""
        if self.dialect == "postgresql":
            return f"= ANY({placeholder})"
        # A placeholder our own code names, never a value: nothing of the user's reaches the SQL.
        return f"IN (SELECT value FROM json_each({placeholder}))"  # noqa: S608

    def array(self, values: Iterable[Any]) -> Any:
        """A list as one argument for `one_of`."""
        values = list(values)
        return values if self.dialect == "postgresql" else json.dumps(values)

    @property
    def skip_locked(self) -> str:
        """Appended to a claim's inner SELECT: on PostgreSQL, rows another replica is claiming
        right now are skipped instead of waited for (SQLite has one writer: nothing to skip)."""
        return " FOR UPDATE SKIP LOCKED" if self.dialect == "postgresql" else ""


# --- SQLite ---------------------------------------------------------------------------------


class _Job:
    """One piece of work for a database thread; `done` runs on the event loop."""

    __slots__ = ("future", "loop", "work")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[Any],
        work: Callable[[sqlite3.Connection], Any],
    ) -> None:
        self.loop = loop
        self.future = future
        self.work = work

    def settle(self, result: Any = None, error: BaseException | None = None) -> None:
        self.loop.call_soon_threadsafe(_settle, self.future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _translate(exc: sqlite3.Error) -> DatabaseError:
    if isinstance(exc, sqlite3.IntegrityError):
        return IntegrityError(str(exc))
    return DatabaseError(str(exc))


def _busy(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and exc.sqlite_errorcode in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    )


# Connections opening a new file together (replicas, a service and its migrations child) can be
# refused the switch to WAL at once with "database is locked" while another makes it: SQLite
# does not run the busy handler there, so the connection's own 30 s timeout does not cover it.
_into_wal = Retrying(
    retry=retry_if_exception(_busy),
    wait=wait_exponential(multiplier=0.005, max=0.1),
    stop=stop_after_delay(30),
    reraise=True,
)


# A writer takes the write lock (BEGIN IMMEDIATE) with `_begin_write` instead of SQLite's own
# busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25 … 100 ms between tries. Seen with strace: a
# ROLE=webhook ack behind the ROLE=worker process's commit on the same file (held a few hundred
# microseconds) slept 1 ms or more, often 5–50 ms. Here the first tries come tens of
# microseconds apart; the writer is a thread of its own, so its sleeps block no event loop.
WRITE_LOCK_FIRST_WAIT = 0.00005
WRITE_LOCK_MAX_WAIT = 0.002
WRITE_LOCK_PATIENCE = 30.0


def _begin_write(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, trying again while another connection writes, for up to 30 s.

    A plain loop rather than tenacity (used for the rarer waits here): with tries tens of
    microseconds apart, tenacity's ~22 µs of bookkeeping per try was most of the CPU, about a
    tenth of the ROLE=webhook process's in a py-spy profile (bench/e2e_throughput); this loop
    costs under 1 µs per try."""
    wait = WRITE_LOCK_FIRST_WAIT
    deadline: float | None = None
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            now = time.monotonic()
            if deadline is None:
                deadline = now + WRITE_LOCK_PATIENCE
            elif now >= deadline:
                raise
        time.sleep(wait)
        wait = min(wait * 2, WRITE_LOCK_MAX_WAIT)


def _sqlite_connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    _into_wal(conn.execute, "PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA foreign_keys=ON")
    # 1 MiB of page cache per connection instead of SQLite's 2 MiB: the rows a service touches
    # again soon (recent inbox rows, live payments) fit, older pages come from the OS page cache
    # in microseconds, and two connections per service stay within issue 12's memory budget.
    conn.execute("PRAGMA cache_size=-1024")
    conn.row_factory = _dict_row
    return conn


def _outcome(conn: sqlite3.Connection, sql: str, args: Sequence[Any]) -> Outcome:
    cursor = conn.execute(_sqlite_sql(sql), _sqlite_args(args))
    rows = cursor.fetchall() if cursor.description else []
    outcome = Outcome(rows, cursor.rowcount)
    cursor.close()
    return outcome


def _run(conn: sqlite3.Connection, sql: str, args: Sequence[Any]) -> list[Row]:
    return _outcome(conn, sql, args).rows


def _run_count(conn: sqlite3.Connection, sql: str, args: Sequence[Any]) -> int:
    return _outcome(conn, sql, args).count


def _run_batch(conn: sqlite3.Connection, statements: Sequence[Statement]) -> list[Outcome]:
    return [_outcome(conn, sql, args) for sql, args in statements]


def _attempt(
    work: Callable[[sqlite3.Connection], Any], conn: sqlite3.Connection
) -> tuple[Any, BaseException | None]:
    """`work(conn)`'s result and None, or None and what went wrong (sqlite3's errors as ours):
    the caller gets the error, the thread goes on."""
    try:
        return work(conn), None
    except sqlite3.Error as exc:
        return None, _translate(exc)
    except BaseException as exc:
        return None, exc


def _run_many(conn: sqlite3.Connection, sql: str, rows: Iterable[Sequence[Any]]) -> None:
    conn.executemany(_sqlite_sql(sql), (_sqlite_args(row) for row in rows)).close()


class _Thread:
    """A thread owning one connection and running jobs from a queue.

    The connection is opened by the thread itself (jobs submitted before wait in the queue), so
    opening a database blocks no event loop; `after` is a thread whose connection must exist
    first (the reader waits for the writer, which creates the file private to its owner)."""

    def __init__(self, name: str, path: str, writer: bool, after: _Thread | None = None) -> None:
        self.path = path
        self.writer = writer
        self.after = after
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.ready = threading.Event()
        self.conn: sqlite3.Connection | None = None
        self.thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self.thread.start()

    def submit(self, work: Callable[[sqlite3.Connection], Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self.jobs.put(_Job(loop, future, work))
        return future

    def stop(self) -> None:
        self.jobs.put(None)
        self.thread.join(timeout=30)

    def _connect(self) -> sqlite3.Connection:
        if self.after is not None:
            self.after.ready.wait()
        elif self.path != ":memory:" and not self.path.startswith("file:"):
            private_file(Path(self.path))
        conn = _sqlite_connect(self.path)
        if self.writer:
            # Every write here starts with `_begin_write`, which waits for the lock more finely
            # than SQLite's handler; a write path that skipped it would fail at once under
            # another process's lock instead of waiting.
            conn.execute("PRAGMA busy_timeout=0")
        return conn

    def _serve(self) -> None:
        try:
            self.conn = self._connect()
        except (OSError, sqlite3.Error) as exc:
            self.ready.set()
            self._refuse_all(DatabaseError(f"cannot open the database {self.path}: {exc}"))
            return
        self.ready.set()
        try:
            while True:
                job = self.jobs.get()
                if job is None:
                    return
                if self.writer and getattr(job.work, "group", False):
                    self._group_commit(job)
                else:
                    self._one(job)
        finally:
            self.conn.close()

    def _refuse_all(self, error: DatabaseError) -> None:
        logger.error("cannot open the database", extra={"error": str(error)})
        while (job := self.jobs.get()) is not None:
            job.settle(error=error)

    def _one(self, job: _Job) -> None:
        assert self.conn is not None
        job.settle(*_attempt(job.work, self.conn))

    def _group_commit(self, first: _Job) -> None:
        """Single writes waiting together share one transaction (one fsync); each runs in its
        own savepoint, so one refused by a constraint leaves the others in."""
        assert self.conn is not None
        batch = [first]
        deferred: list[_Job | None] = []
        while len(batch) < 500:
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None and getattr(job.work, "group", False):
                batch.append(job)
            else:
                deferred.append(job)
                break
        conn = self.conn
        results: list[tuple[_Job, Any, BaseException | None]] = []
        try:
            _begin_write(conn)
            for job in batch:
                conn.execute("SAVEPOINT one")
                result, error = _attempt(job.work, conn)
                if error is not None:
                    conn.execute("ROLLBACK TO one")
                results.append((job, result, error))
                conn.execute("RELEASE one")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for job in batch:
                job.settle(error=_translate(exc))
        else:
            for job, result, error in results:
                job.settle(result, error)
        for job in deferred:
            if job is None:
                self.jobs.put(None)
            elif getattr(job.work, "group", False):
                self._group_commit(job)
            else:
                self._one(job)


def _grouped(work: Callable[[sqlite3.Connection], Any]) -> Callable[[sqlite3.Connection], Any]:
    work.group = True  # type: ignore[attr-defined]
    return work


class _SqliteTransaction(Executor):
    """Statements of one transaction, run in order on the writer's connection."""

    def __init__(self, requests: queue.SimpleQueue[Any]) -> None:
        self._requests = requests

    async def _call(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._requests.put(_Job(loop, future, work))
        return await future

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        result: list[Row] = await self._call(lambda conn: _run(conn, sql, args))
        return result

    async def execute(self, sql: str, *args: Any) -> int:
        result: int = await self._call(lambda conn: _run_count(conn, sql, args))
        return result

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        await self._call(lambda conn: _run_many(conn, sql, rows))


_COMMIT = object()
_ROLLBACK = object()


def _nothing(conn: sqlite3.Connection) -> None:
    return None


def _hold_transaction(
    requests: queue.SimpleQueue[Any], begun: _Job
) -> Callable[[sqlite3.Connection], None]:
    """The writer's side of a transaction: BEGIN, then the transaction's statements only, until
    it commits or rolls back (or sits idle past TRANSACTION_IDLE_LIMIT: rolled back)."""

    def hold(conn: sqlite3.Connection) -> None:
        try:
            _begin_write(conn)
        except sqlite3.Error as exc:
            begun.settle(error=_translate(exc))
            return
        begun.settle(None)
        while True:
            try:
                item = requests.get(timeout=TRANSACTION_IDLE_LIMIT)
            except queue.Empty:
                logger.error("a database transaction sat idle too long and was rolled back")
                conn.execute("ROLLBACK")
                return
            if isinstance(item, tuple):
                marker, job = item
                try:
                    conn.execute("COMMIT" if marker is _COMMIT else "ROLLBACK")
                except sqlite3.Error as exc:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    job.settle(error=_translate(exc))
                else:
                    job.settle(None)
                return
            item.settle(*_attempt(item.work, conn))

    return hold


class SqliteDatabase(Database):
    dialect: Dialect = "sqlite"

    def __init__(self, path: str) -> None:
        memory = path == ":memory:" or "mode=memory" in path
        if not memory and not path.startswith("file:"):
            # Absolute: both connections open the same file whatever the working directory.
            path = os.path.abspath(path)
        self.path = path
        self._writer = _Thread("sqlite-writer", path, writer=True)
        self._reader = (
            self._writer if memory else _Thread("sqlite-reader", path, False, after=self._writer)
        )

    async def read(self, sql: str, *args: Any) -> list[Row]:
        result: list[Row] = await self._reader.submit(lambda conn: _run(conn, sql, args))
        return result

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        result: list[Row] = await self._writer.submit(_grouped(lambda conn: _run(conn, sql, args)))
        return result

    async def execute(self, sql: str, *args: Any) -> int:
        result: int = await self._writer.submit(_grouped(lambda conn: _run_count(conn, sql, args)))
        return result

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        await self._writer.submit(_grouped(lambda conn: _run_many(conn, sql, rows)))

    async def batch(self, statements: Sequence[Statement]) -> list[Outcome]:
        statements = list(statements)
        # A grouped job runs in a savepoint of its own: the batch commits whole or not at all.
        result: list[Outcome] = await self._writer.submit(
            _grouped(lambda conn: _run_batch(conn, statements))
        )
        return result

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        loop = asyncio.get_running_loop()
        requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        begun: asyncio.Future[Any] = loop.create_future()
        held = self._writer.submit(_hold_transaction(requests, _Job(loop, begun, _nothing)))
        try:
            await asyncio.shield(begun)
        except asyncio.CancelledError:
            # The writer may begin it anyway: end it there, whatever happens here.
            requests.put((_ROLLBACK, _Job(loop, loop.create_future(), _nothing)))
            raise
        tx = _SqliteTransaction(requests)
        try:
            yield tx
        except BaseException:
            await self._end(requests, held, _ROLLBACK)
            raise
        await self._end(requests, held, _COMMIT)

    async def _end(
        self, requests: queue.SimpleQueue[Any], held: asyncio.Future[Any], marker: object
    ) -> None:
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[Any] = loop.create_future()
        requests.put((marker, _Job(loop, ended, _nothing)))
        try:
            await asyncio.shield(ended)
        finally:
            await asyncio.shield(held)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        if self._reader is not self._writer:
            await loop.run_in_executor(None, self._reader.stop)
        await loop.run_in_executor(None, self._writer.stop)


# --- PostgreSQL -----------------------------------------------------------------------------


def _count(status: str) -> int:
    # asyncpg answers a write with its command tag: "UPDATE 3", "INSERT 0 1", "DELETE 0".
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


@contextmanager
def _integrity_as_ours() -> Iterator[None]:
    """asyncpg's constraint violations raised as `IntegrityError`, as on SQLite."""
    import asyncpg

    try:
        yield
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(str(exc)) from exc


class _PgExecutor(Executor):
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        with _integrity_as_ours():
            return [dict(row) for row in await self._conn.fetch(sql, *args)]

    async def execute(self, sql: str, *args: Any) -> int:
        with _integrity_as_ours():
            return _count(await self._conn.execute(sql, *args))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with _integrity_as_ours():
            await self._conn.executemany(sql, list(rows))


class PostgresDatabase(Database):
    dialect: Dialect = "postgresql"

    def __init__(self, pool: Any, url: str = "") -> None:
        self.pool = pool  # an asyncpg pool (also for LISTEN/NOTIFY connections)
        self.url = url  # for the migrations' child process (`shared.migrations`)

    @classmethod
    async def connect(cls, url: str, *, min_size: int = 1, max_size: int = 10) -> PostgresDatabase:
        import asyncpg

        pool = await asyncpg.create_pool(
            dsn=url, min_size=min_size, max_size=max_size, command_timeout=60
        )
        return cls(pool, url)

    async def read(self, sql: str, *args: Any) -> list[Row]:
        return await self.fetch(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self.pool.acquire() as conn:
            return await _PgExecutor(conn).fetch(sql, *args)

    async def execute(self, sql: str, *args: Any) -> int:
        async with self.pool.acquire() as conn:
            return await _PgExecutor(conn).execute(sql, *args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.pool.acquire() as conn:
            await _PgExecutor(conn).executemany(sql, rows)

    async def batch(self, statements: Sequence[Statement]) -> list[Outcome]:
        outcomes = []
        async with self.pool.acquire() as conn, conn.transaction():
            run = _PgExecutor(conn)
            for sql, args in statements:
                if _returns_rows(sql):
                    rows = await run.fetch(sql, *args)
                    outcomes.append(Outcome(rows, len(rows)))
                else:
                    outcomes.append(Outcome([], await run.execute(sql, *args)))
        return outcomes

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield _PgExecutor(conn)

    @asynccontextmanager
    async def listening(self, channel: str, heard: Callable[[str], None]) -> AsyncIterator[bool]:
        """While open, `heard(payload)` for each NOTIFY on `channel`, from any process (LISTEN
        on one connection held from the pool). Yields False when LISTEN failed: the caller
        must then find the news some other way."""

        def on_notify(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            heard(payload)

        async with self.pool.acquire() as conn:
            try:
                await conn.add_listener(channel, on_notify)
            except Exception:
                yield False
                return
            try:
                yield True
            finally:
                with suppress(Exception):
                    await conn.remove_listener(channel, on_notify)

    async def close(self) -> None:
        await self.pool.close()


# --- opening --------------------------------------------------------------------------------


def plain_postgres_url(url: str) -> str:
    """postgresql+asyncpg://… (SQLAlchemy's spelling, still accepted) → postgresql://…"""
    scheme, sep, rest = url.partition("://")
    base = scheme.split("+", 1)[0]
    return f"{'postgresql' if base == 'postgres' else base}{sep}{rest}"


def sqlite_path(url: str) -> str:
    """The file of a SQLAlchemy-style sqlite URL: sqlite:///relative, sqlite:////absolute
    (any +driver ignored); ':memory:' for none."""
    tail = url.split("://", 1)[1] if "://" in url else ""
    path = unquote(tail[1:] if tail.startswith("/") else tail).split("?", 1)[0]
    return path or ":memory:"


async def open_database(database_url: str | None, default_sqlite: Path) -> Database:
    """The database at `database_url` (postgresql://… or sqlite:///…), or a SQLite file at
    `default_sqlite` (created private to its owner) when it is None."""
    scheme = (database_url or "").split(":", 1)[0].split("+", 1)[0]
    if database_url and scheme in ("postgresql", "postgres"):
        return await PostgresDatabase.connect(plain_postgres_url(database_url))
    return SqliteDatabase(sqlite_path(database_url) if database_url else str(default_sqlite))
