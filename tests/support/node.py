"""The official Interledger npm packages, installed on demand as independent referees.

`tests/node/package.json` pins `@interledger/open-payments` (client + OpenAPI specs) and
`@interledger/http-signature-utils` (signature verification); the lock file pins the rest.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
SPECS_DIR = NODE_DIR / "node_modules/@interledger/open-payments/dist/openapi/specs"


def ensure_node_packages() -> Path:
    """`npm ci` in tests/node unless already installed; returns that folder."""
    marker = NODE_DIR / "node_modules/@interledger/open-payments/package.json"
    if not marker.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is required for the reference tests (install Node.js 20+)")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR,
            check=True,
        )
    return NODE_DIR


def openapi_spec(name: str) -> Path:
    """Path of an official spec: 'auth-server', 'resource-server' or 'wallet-address-server'."""
    ensure_node_packages()
    return SPECS_DIR / f"{name}.yaml"
