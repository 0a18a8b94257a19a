"""Headless Chromium (Debian's `chromium`) driven by Playwright, for page tests.

Playwright's own browser download cannot work offline, so the system binary is used through
`executable_path`; the flags keep Chromium from reaching for the network on its own.
"""

from __future__ import annotations

import os
import shutil

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        raise RuntimeError("Chromium not found: apt-get install chromium (or set CHROMIUM_PATH)")
    return path
