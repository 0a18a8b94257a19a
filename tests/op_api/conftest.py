"""Fixtures for op_api's flow tests: the sandbox wallet and op_api, real processes on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.op_api.harness import OpApi, Wallet, running_wallet, wallet_env
from tests.support.processes import ServiceProcess, console_script, free_port


@pytest.fixture(scope="module")
def wallet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wallet]:
    """One sandbox wallet per test module (GNAP wait 1 s, fast settlement)."""
    yield from running_wallet(tmp_path_factory, "wallet")


@pytest.fixture
def op_api(
    spawn: Callable[..., ServiceProcess], wallet: Wallet, tmp_path: Path
) -> Callable[..., OpApi]:
    """Start op_api against `wallet`: `op_api(PAYMENT_EXPIRY_SECONDS="2", ...)`."""

    def _start(data_dir: Path | None = None, port: int | None = None, **env: str) -> OpApi:
        chosen = port or free_port()
        full_env = {
            **wallet_env(wallet),
            "DATA_DIR": str(data_dir or tmp_path / "op_api-data"),
            "WORKER_INTERVAL_SECONDS": "0.3",
            **env,
        }
        proc = spawn(f"op_api-{chosen}", [console_script("op-api")], full_env, port=chosen)
        return OpApi(proc)

    return _start
