"""The gateway's store tests run on both databases: SQLite (a file of the test's own) and
PostgreSQL (a database of the test's own, dropped afterwards). A test module takes the fixture
in with `either_database = databases.either_database`; its tests ask for `database_url`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest


def postgres_database() -> Iterator[str]:
    """A PostgreSQL database of the test's own (so parallel runs never share the gateway's
    tables), dropped afterwards; the test is skipped when there is no server."""
    from tests.ws_bot.test_postgres import _admin  # that module takes this fixture in too

    name = f"ws_bot_{uuid.uuid4().hex[:12]}"
    try:
        _admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL not available: {exc}")
    yield f"postgresql://postgres@127.0.0.1/{name}"
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(
    name="database_url",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def either_database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (the SQLite file the test names) or the URL of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
    else:
        yield from postgres_database()
