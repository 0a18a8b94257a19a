"""Fixtures for the sandbox wallet tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sandbox_wallet.gnap import PyClient
from tests.sandbox_wallet.support import WALLET_ARGS, Wallet
from tests.support.processes import ServiceProcess, console_script, free_port, service_env


@pytest.fixture(scope="module")
def shared_wallet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wallet]:
    """One wallet process for a whole module: each test works with its own grants."""
    tmp = tmp_path_factory.mktemp("wallet")
    data_dir = tmp / "wallet-data"
    port = free_port()
    args = [console_script("paguito-sandbox"), *WALLET_ARGS, "--data-dir", str(data_dir)]
    proc = ServiceProcess(
        name="wallet",
        args=[a.replace("{port}", str(port)) for a in args],
        port=port,
        log_path=tmp / "output.log",
        env=service_env({}),
    )
    proc.start()
    yield Wallet(proc, data_dir)
    proc.stop()


@pytest.fixture
def op(shared_wallet: Wallet) -> PyClient:
    return PyClient(shared_wallet)
