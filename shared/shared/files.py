"""Data files private to their owner: what every store's SQLite file (and its folder) is made
with, without the database layers (`shared.sql`, `shared.db`) that use it."""

from __future__ import annotations

import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(directory: Path) -> Path:
    """`directory`, created if needed, readable by its owner alone (0700).

    Our data files hold phone numbers, names, message payloads and GNAP tokens: no other local
    user may list or read them. A folder someone else owns (a mounted volume) is left as it is.
    """
    directory.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    if directory.resolve() in {Path.cwd().resolve(), Path.home().resolve(), Path("/")}:
        return directory  # a data file right in a shared folder: that folder is not ours to lock
    try:
        if directory.stat().st_uid == os.getuid():
            directory.chmod(PRIVATE_DIR)
    except OSError as exc:
        logger.warning("cannot restrict the data folder", extra={"error": str(exc)})
    return directory


def private_file(path: Path) -> Path:
    """`path` (created empty if missing) readable and writable by its owner alone (0600)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    os.close(fd)
    try:
        path.chmod(PRIVATE_FILE)
    except OSError as exc:
        logger.warning("cannot restrict a data file", extra={"error": str(exc)})
    return path
