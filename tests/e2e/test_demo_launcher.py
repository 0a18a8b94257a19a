"""`paguito-sandbox demo` as a person runs it: its output, Ctrl-C, a second run, a busy port."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from sandbox.demo.stack import Ports
from tests.support.processes import console_script, free_port

pytestmark = pytest.mark.slow

SERVICES = ("wallet", "phone", "llm_back", "op_api", "ws_bot")


def _demo(data_dir: Path, ports: Ports) -> subprocess.Popen[str]:
    args = [console_script("paguito-sandbox"), "demo", "--data-dir", str(data_dir)]
    for name, port in vars(ports).items():
        args += [f"--{name.replace('_', '-')}-port", str(port)]
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    return subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )


def _read_until(proc: subprocess.Popen[str], marker: str, timeout: float = 90) -> str:
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        assert time.monotonic() < deadline, seen
        line = proc.stdout.readline()
        assert line or proc.poll() is None, seen
        seen += line
    return seen


def _free_ports() -> Ports:
    return Ports(**{name: free_port() for name in vars(Ports())})


def test_demo_prints_each_service_and_ctrl_c_stops_them_all(tmp_path: Path) -> None:
    ports = _free_ports()
    proc = _demo(tmp_path, ports)
    try:
        out = _read_until(proc, "Ctrl-C stops everything")
        for name in SERVICES:
            port = getattr(ports, name)
            assert re.search(rf"^\s+{name}\s+http://127\.0\.0\.1:{port}", out, re.M), out
            assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
        assert f"Open the chat page: http://127.0.0.1:{ports.phone}/" in out
        assert "(offline parser)" in out
        # Each wallet's consent-page password is printed for the person, and logged nowhere.
        wallets = httpx.get(f"http://127.0.0.1:{ports.wallet}/admin/wallets").json()["wallets"]
        passwords = {w["name"]: w["password"] for w in wallets if w["name"] != "paguito"}
        assert set(passwords) >= {"alice", "bob", "carol"}
        for name, password in passwords.items():
            assert re.search(rf"^\s+{name}\s+{re.escape(password)}$", out, re.M), out
        logs = "".join(p.read_text() for p in (tmp_path / "demo" / "logs").glob("*.log"))
        assert not [name for name, password in passwords.items() if password in logs]

        # A second demo on the same data dir is refused with a clear message.
        second = _demo(tmp_path, _free_ports())
        text, _ = second.communicate(timeout=60)
        assert second.returncode == 1
        assert "already running" in text

        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    for name in SERVICES:
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{getattr(ports, name)}/health", timeout=1)
    secrets = (tmp_path / "dev.env").read_text()
    assert "INTERNAL_API_TOKEN=" in secrets
    assert oct((tmp_path / "dev.env").stat().st_mode & 0o777) == "0o600"


def test_a_taken_port_is_named(tmp_path: Path) -> None:
    ports = _free_ports()
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", ports.ws_bot))
        blocker.listen()
        proc = _demo(tmp_path, ports)
        text, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert f"{ports.ws_bot} (ws_bot)" in text
    assert "already in use" in text
