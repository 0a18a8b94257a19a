"""Start, watch and stop the whole local stack: sandbox stand-ins plus the three services.

`DemoStack` is what `paguito-sandbox demo` runs and what the end-to-end tests run, so the tests
exercise the demo's own code path. Each process gets its own log file under the data dir.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from sandbox.devconfig import ensure_dev_config

BIN = Path(sys.executable).parent
SECRET_KEYS = ("INTERNAL_API_TOKEN", "META_APP_SECRET", "META_VERIFY_TOKEN", "META_ACCESS_TOKEN")


class DemoError(RuntimeError):
    """Something a person can fix: a port taken, a second demo running, a service not starting."""


@dataclass
class Ports:
    wallet: int = 9000
    phone: int = 9100
    openai: int = 9200
    llm_back: int = 8000
    op_api: int = 3000
    ws_bot: int = 8080


@dataclass
class DemoConfig:
    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    ports: Ports = field(default_factory=Ports)
    openai: str = "auto"  # "auto": real OpenAI if OPENAI_API_KEY is set, else offline
    wallet_wait_seconds: int | None = None
    extra_env: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class Process:
    name: str
    url: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    note: str = ""
    popen: subprocess.Popen[bytes] | None = None

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _base_env() -> dict[str, str]:
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "SSL_CERT_FILE"}
    return {k: v for k, v in os.environ.items() if k in keep}


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class DemoStack:
    """The local stack. Use as a context manager: everything started is stopped on exit."""

    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        self.data_dir = config.data_dir.resolve()
        self.processes: dict[str, Process] = {}
        self._lock_file: IO[str] | None = None

    # -- public ---------------------------------------------------------------------------

    def url(self, name: str) -> str:
        port = getattr(self.config.ports, name)
        return f"http://{self.config.host}:{port}"

    @property
    def chat_url(self) -> str:
        return self.url("phone") + "/"

    @property
    def uses_openai(self) -> str:
        """'fake', 'real' or 'off' — which understanding path llm_back takes."""
        if self.config.openai in ("fake", "off"):
            return self.config.openai
        if self.config.openai == "real" or os.environ.get("OPENAI_API_KEY"):
            return "real"
        return "off"

    def start(self) -> None:
        self._take_lock()
        self._check_ports()
        secrets = ensure_dev_config(self.data_dir)
        (self.data_dir / "demo" / "logs").mkdir(parents=True, exist_ok=True)
        try:
            self._start_all(secrets)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for proc in reversed(list(self.processes.values())):
            _terminate(proc)
        self.processes.clear()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def dead(self) -> list[Process]:
        """Processes that exited on their own."""
        return [p for p in self.processes.values() if p.popen and p.popen.poll() is not None]

    def summary(self) -> str:
        width = max(len(n) for n in self.processes)
        lines = [
            f"  {p.name.ljust(width)}  {p.url}  {p.note}".rstrip() for p in self.processes.values()
        ]
        return "\n".join(lines)

    def wallet_passwords(self) -> dict[str, str]:
        """Each sandbox wallet's consent-page password for this run (the platform's excepted:
        it never approves), from the wallet's local admin API."""
        answer = httpx.get(self.url("wallet") + "/admin/wallets", timeout=5)
        answer.raise_for_status()
        return {
            w["name"]: w["password"] for w in answer.json()["wallets"] if w["name"] != "paguito"
        }

    def __enter__(self) -> DemoStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- steps ----------------------------------------------------------------------------

    def _take_lock(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lock = (self.data_dir / "demo.lock").open("a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            pid = lock.read().strip() or "?"
            lock.close()
            raise DemoError(
                f"The demo is already running (pid {pid}) with data dir {self.data_dir}. "
                "Stop it with Ctrl-C in its terminal, or pass another --data-dir."
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        self._lock_file = lock

    def _check_ports(self) -> None:
        wanted = {
            name: port
            for name, port in vars(self.config.ports).items()
            if name != "openai" or self.uses_openai == "fake"
        }
        taken = [
            f"{port} ({name})"
            for name, port in wanted.items()
            if not port_is_free(self.config.host, port)
        ]
        if taken:
            raise DemoError(
                "These ports are already in use: " + ", ".join(taken) + ". Stop what uses them, "
                "or choose others (paguito-sandbox demo --help lists the port options)."
            )

    def _start_all(self, secrets: dict[str, str]) -> None:
        cfg, ports = self.config, self.config.ports
        sandbox = str(BIN / "paguito-sandbox")
        wallet_dir = self.data_dir / "sandbox" / "wallet"
        wallet_args = [
            sandbox,
            "wallet",
            "--host",
            cfg.host,
            "--port",
            str(ports.wallet),
            "--data-dir",
            str(wallet_dir),
            "--public-url",
            self.url("wallet"),
        ]
        if cfg.wallet_wait_seconds is not None:
            wallet_args += ["--wait-seconds", str(cfg.wallet_wait_seconds)]
        # Consent-page passwords the person chose (`WALLET_PASSWORDS=alice=…,bob=…`); else random.
        chosen = {k: os.environ[k] for k in ("WALLET_PASSWORDS",) if os.environ.get(k)}
        self._run("wallet", wallet_args, chosen, note=f"(balances: {self.url('wallet')}/balances)")

        self._run(
            "phone",
            [
                sandbox,
                "phone",
                "--host",
                cfg.host,
                "--port",
                str(ports.phone),
                "--webhook-url",
                self.url("ws_bot") + "/webhook",
                "--app-secret",
                secrets["META_APP_SECRET"],
                "--phone-id",
                secrets["META_PHONE_ID"],
                "--access-token",
                secrets["META_ACCESS_TOKEN"],
            ],
            {},
            note="(chat page)",
        )

        llm_env: dict[str, str] = {}
        mode = self.uses_openai
        if mode == "fake":
            self._run(
                "openai",
                [sandbox, "openai", "--host", cfg.host, "--port", str(ports.openai)],
                {},
                note="(fake OpenAI)",
            )
            llm_env = {
                "OPENAI_API_KEY": "sandbox-key",
                "OPENAI_BASE_URL": self.url("openai") + "/v1",
            }
        elif mode == "real":
            llm_env = {
                k: os.environ[k] for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL") if k in os.environ
            }
        common = {"INTERNAL_API_TOKEN": secrets["INTERNAL_API_TOKEN"], "HOST": cfg.host}
        notes = {"fake": "(fake OpenAI)", "real": "(OpenAI)", "off": "(offline parser)"}
        self._run(
            "llm_back",
            [str(BIN / "llm-back")],
            {
                **common,
                **llm_env,
                "PORT": str(ports.llm_back),
                "DATA_DIR": str(self.data_dir / "llm_back"),
            },
            note=notes[mode],
        )

        key_pem, key_id = _platform_key(wallet_dir)
        self._run(
            "op_api",
            [str(BIN / "op-api")],
            {
                **common,
                "PORT": str(ports.op_api),
                "DATA_DIR": str(self.data_dir / "op_api"),
                "WALLET_ADDRESS_URL": self.url("wallet") + "/paguito",
                "KEY_ID": key_id,
                "PRIVATE_KEY_PATH": str(key_pem),
                "ALLOW_INSECURE_HTTP": "true",
            },
        )

        self._run(
            "ws_bot",
            [str(BIN / "ws-bot")],
            {
                **common,
                **{
                    k: secrets[k]
                    for k in (
                        "META_APP_SECRET",
                        "META_VERIFY_TOKEN",
                        "META_ACCESS_TOKEN",
                        "META_APP_ID",
                        "META_PHONE_ID",
                    )
                },
                "PORT": str(ports.ws_bot),
                "DATA_DIR": str(self.data_dir / "ws_bot"),
                "GRAPH_API_URL": self.url("phone"),
                "LLM_BACKEND": self.url("llm_back"),
                "OP_BACKEND": self.url("op_api"),
                "ALLOW_INSECURE_HTTP": "true",
                # Development only: scheduled payments repeat after this (e.g. PT30S).
                **{k: os.environ[k] for k in ("SCHEDULE_INTERVAL_OVERRIDE",) if os.environ.get(k)},
            },
        )

    def _run(self, name: str, args: list[str], env: dict[str, str], note: str = "") -> Process:
        full_env = {**_base_env(), **env, **self.config.extra_env.get(name, {})}
        proc = Process(
            name,
            self.url(name),
            args,
            full_env,
            self.data_dir / "demo" / "logs" / f"{name}.log",
            note,
        )
        with proc.log_path.open("ab") as log:
            proc.popen = subprocess.Popen(  # noqa: S603 - our own console scripts
                args,
                env=full_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us only; we stop children in order
            )
        self.processes[name] = proc
        _wait_healthy(proc)
        return proc


def _platform_key(wallet_dir: Path) -> tuple[Path, str]:
    """The platform client's key pair, written by the sandbox wallet on its first start."""
    pem = wallet_dir / "paguito-private-key.pem"
    key_id_file = wallet_dir / "paguito-key-id"
    deadline = time.monotonic() + 10
    while not (pem.exists() and key_id_file.exists()):
        if time.monotonic() > deadline:
            raise DemoError(f"The sandbox wallet did not write the platform key into {wallet_dir}")
        time.sleep(0.1)
    return pem, key_id_file.read_text().strip()


def _wait_healthy(proc: Process, timeout: float = 45.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen is not None and proc.popen.poll() is not None:
            tail = "\n".join(proc.logs().splitlines()[-15:])
            raise DemoError(
                f"{proc.name} exited while starting. Last lines of its log "
                f"({proc.log_path}):\n{tail}"
            )
        try:
            if httpx.get(proc.url + "/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.15)
    raise DemoError(f"{proc.name} did not become healthy in {timeout:.0f}s; see {proc.log_path}")


def _terminate(proc: Process) -> None:
    if proc.popen is None or proc.popen.poll() is not None:
        return
    try:
        os.killpg(proc.popen.pid, signal.SIGTERM)
        proc.popen.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.popen.pid, signal.SIGKILL)
        proc.popen.wait(5)
    except ProcessLookupError:
        pass


@contextmanager
def running_stack(config: DemoConfig) -> Iterator[DemoStack]:
    stack = DemoStack(config)
    with stack:
        yield stack
