"""Data files are 0600 in 0700 folders (issue 14, item 7): they hold phone numbers, names,
message payloads and GNAP tokens."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from sandbox.devconfig import ensure_dev_config
from shared.db import create_engine


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_sqlite_files_and_their_folder_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    database = folder / "service.sqlite3"
    engine = create_engine(None, database)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (phone TEXT)"))
            await conn.execute(text("INSERT INTO t VALUES ('+15550001111')"))
    finally:
        await engine.dispose()
    assert _mode(folder) == 0o700
    files = [database, *folder.glob("service.sqlite3-*")]
    assert all(_mode(f) == 0o600 for f in files), {f.name: oct(_mode(f)) for f in files}


async def test_an_explicit_sqlite_url_is_private_too(tmp_path: Path) -> None:
    database = tmp_path / "other" / "x.sqlite3"
    engine = create_engine(f"sqlite:///{database}", tmp_path / "unused.sqlite3")
    await engine.dispose()
    assert _mode(database) == 0o600
    assert _mode(database.parent) == 0o700


def test_the_dev_config_folder_is_private(tmp_path: Path) -> None:
    ensure_dev_config(tmp_path / ".data")
    assert _mode(tmp_path / ".data") == 0o700
    assert _mode(tmp_path / ".data" / "dev.env") == 0o600
