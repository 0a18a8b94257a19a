"""Start real service processes on loopback ports and stop them cleanly.

Tests use real processes and real HTTP rather than in-process mocks wherever the protocol
matters. Every process gets a free port, its own environment, and its output in a log file the
test can read (for request-id and secret checks).
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
TEST_TOKEN = "test-internal-token-0123456789"
# Test clients drop a connection idle for 2 s: uvicorn closes one idle for 5 s, and a test that
# slept ~5 s between calls could send into a connection the server was closing at that moment
# ("Server disconnected without sending a response", seen once in CI after a 4 s sleep).
TEST_CLIENT_LIMITS = httpx.Limits(keepalive_expiry=2.0)


# Ports below the kernel's ephemeral range (32768 and up on Linux), a block of 1,000 for each
# pytest-xdist worker: a port bind(0) hands out and takes back can go to another worker's
# service a moment later, and the first to listen answered the other's readiness check.
_PORT_BASE = 20000
_PORT_BLOCK = 1000
_PORT_BLOCKS = (32768 - _PORT_BASE) // _PORT_BLOCK  # as many as fit below the ephemeral range
_ports = itertools.count()


def _port_block() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    return _PORT_BASE + (int(worker) % _PORT_BLOCKS if worker.isdigit() else 0) * _PORT_BLOCK


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on, and that no other test process is handed."""
    block, offset = _port_block(), os.getpid()  # runs one after another start apart
    for _ in range(_PORT_BLOCK):
        port = block + (offset + next(_ports)) % _PORT_BLOCK
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken: a service of this machine, or one of ours still running
            return port
    raise RuntimeError(f"no free port in {block}–{block + _PORT_BLOCK - 1}")


def console_script(name: str) -> str:
    """Path of a console script installed in this virtualenv (ws-bot, op-api, …)."""
    return str(BIN / name)


@dataclass
class ServiceProcess:
    """A running process; `url` is its base URL, `log_path` holds everything it printed."""

    name: str
    args: Sequence[str]
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str = "/health", timeout: float = 30.0) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            list(self.args),
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.wait_ready(ready_path, timeout)
        return self

    def wait_ready(self, path: str = "/health", timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.logs()[-4000:]}")
            try:
                if httpx.get(self.url + path, timeout=1.0).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready after {timeout}s:\n{self.logs()[-4000:]}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (for crash tests)."""
        self.stop(signal.SIGKILL)


def service_env(extra: Mapping[str, str] | None = None, **kw: str) -> dict[str, str]:
    """A clean environment for a service: PATH/HOME kept, no stray .env, the test token set."""
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    env["INTERNAL_API_TOKEN"] = TEST_TOKEN
    env["LOG_LEVEL"] = "INFO"
    env.update(extra or {})
    env.update(kw)
    return env


def make_spawner(base: Path) -> tuple[Callable[..., ServiceProcess], list[ServiceProcess]]:
    """A `spawn(name, args, env, *, port, ready_path, timeout)` that starts processes under
    `base`, and the list of what it started (stop them in reverse order).

    `args` may contain `{port}`, replaced by the free port chosen for the process.
    """
    started: list[ServiceProcess] = []

    def spawn(
        name: str,
        args: Sequence[str],
        env: dict[str, str] | None = None,
        *,
        port: int | None = None,
        ready_path: str = "/health",
        timeout: float = 30.0,
    ) -> ServiceProcess:
        chosen = port or free_port()
        full_env = service_env(env or {})
        full_env.setdefault("PORT", str(chosen))
        full_env.setdefault("DATA_DIR", str(base / name / "data"))
        proc = ServiceProcess(
            name=name,
            args=[a.replace("{port}", str(chosen)) for a in args],
            port=chosen,
            log_path=base / name / "output.log",
            env=full_env,
        )
        started.append(proc)
        return proc.start(ready_path=ready_path, timeout=timeout)

    return spawn, started
