"""Issue 12: a service process, started and idle, has not imported the database toolkits it no
longer needs at run time (SQLAlchemy, Alembic, aiosqlite: migrations run in a child process of
their own) nor, without an OpenAI key, the OpenAI SDK. Each costs memory in every replica.

The service runs from its own console entry point under `tests/support/modules_probe.py`, which
writes `sorted(sys.modules)` to a file when the process gets SIGUSR1.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.shared.test_services import SERVICES
from tests.support.processes import ServiceProcess, make_spawner

PROBE = Path(__file__).parents[1] / "support" / "modules_probe.py"
ENTRY = {"ws_bot": "ws_bot.main:run", "llm_back": "llm_back.main:run", "op_api": "op_api.main:run"}
DATABASE = ("sqlalchemy", "alembic", "aiosqlite")


def loaded(proc: ServiceProcess, out: Path, timeout: float = 10.0) -> set[str]:
    """The modules `proc` has imported by now."""
    assert proc.proc is not None
    out.unlink(missing_ok=True)
    os.kill(proc.proc.pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while not out.exists():
        assert time.monotonic() < deadline, f"{proc.name} wrote no module list"
        time.sleep(0.05)
    return set(out.read_text().split())


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], set[str]]]:
    """`imported(service)`: the top-level packages the service has loaded once started and idle
    (each service started once for the module)."""
    base = tmp_path_factory.mktemp("imports")
    spawn, started = make_spawner(base)
    seen: dict[str, set[str]] = {}

    def of(service: str) -> set[str]:
        if service not in seen:
            env = {k: v for k, v in SERVICES[service][1].items() if not k.startswith("OPENAI_")}
            out = base / f"{service}.modules"
            proc = spawn(service, [sys.executable, str(PROBE), str(out), ENTRY[service]], env)
            time.sleep(1.0)  # past start-up: background loops have begun their first rounds
            seen[service] = {name.partition(".")[0] for name in loaded(proc, out)}
            assert {service, "uvicorn"} <= seen[service]  # the list is the running service's
        return seen[service]

    yield of
    for proc in reversed(started):
        proc.stop()


@pytest.mark.parametrize("service", ["ws_bot", "op_api", "llm_back"])
def test_an_idle_service_has_not_imported_alembic(imported, service: str) -> None:
    assert "alembic" not in imported(service)


@pytest.mark.parametrize("service", ["ws_bot", "op_api", "llm_back"])
def test_an_idle_service_has_not_imported_sqlalchemy_or_aiosqlite(imported, service: str) -> None:
    assert sorted(set(DATABASE) & imported(service)) == []


@pytest.mark.parametrize("service", ["ws_bot", "op_api", "llm_back"])
def test_without_an_openai_key_no_service_imports_openai(imported, service: str) -> None:
    assert "openai" not in imported(service)
