"""The compose file and Dockerfiles say what the README promises (checked, not built here)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = str(Path(sys.executable).parent / "docker-compose")
SERVICES = {"ws_bot": "ws_bot", "llm_backend": "llm_back", "open_payments_api": "op_api"}
WORKER = "ws_bot_worker"  # ws_bot's image again, as ROLE=worker beside ROLE=webhook


def compose_config(*profiles: str) -> dict[str, Any]:
    args = [COMPOSE, *(a for p in profiles for a in ("--profile", p)), "config", "--format", "json"]
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


def test_only_ws_bot_is_published() -> None:
    services = compose_config()["services"]
    assert set(services) == {*SERVICES, WORKER}
    assert [p["published"] for p in services["ws_bot"]["ports"]] == ["8080"]
    for name in ("llm_backend", "open_payments_api", WORKER):
        assert not services[name].get("ports"), name
    for name, service in services.items():
        assert set(service["networks"]) == {"paguito_network"}, name
        assert service["healthcheck"]["test"], name
    # The webhook acknowledges on its own; the worker, which answers, needs the others.
    assert services["ws_bot"]["environment"]["ROLE"] == "webhook"
    assert services[WORKER]["environment"]["ROLE"] == "worker"
    assert services[WORKER]["image"] == services["ws_bot"]["image"]
    assert services[WORKER]["volumes"] == services["ws_bot"]["volumes"]  # one SQLite file
    for dependency in ("ws_bot", "llm_backend", "open_payments_api"):
        condition = services[WORKER]["depends_on"][dependency]["condition"]
        assert condition == "service_healthy"


def test_sandbox_profile_adds_the_stand_ins() -> None:
    services = compose_config("sandbox")["services"]
    assert {"sandbox_wallet", "sandbox_phone", "sandbox_openai"} <= set(services)
    # Stand-ins are published on loopback only, for the chat and consent pages.
    for name in ("sandbox_wallet", "sandbox_phone"):
        assert all(p.get("host_ip") == "127.0.0.1" for p in services[name]["ports"]), name


@pytest.mark.parametrize("directory", [*SERVICES.values(), "sandbox"])
def test_dockerfile_is_multistage_non_root_with_healthcheck(directory: str) -> None:
    text = (ROOT / directory / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    assert re.search(r"^USER 10001", text, re.M)
    assert "HEALTHCHECK" in text
    assert "uv sync --frozen --no-dev --package" in text
    # Only this member and shared/ are copied in as code.
    copied = set(re.findall(r"^COPY (\w+)/ ", text, re.M))
    assert copied == {"shared", directory}


def _environments(directory: Path, *args: str) -> dict[str, dict[str, str]]:
    out = subprocess.run(
        [COMPOSE, *args, "config", "--format", "json"],
        cwd=directory,
        capture_output=True,
        text=True,
        check=True,
    )
    services = json.loads(out.stdout)["services"]
    return {name: dict(s.get("environment") or {}) for name, s in services.items()}


def test_development_settings_reach_only_the_sandbox(tmp_path: Path) -> None:
    # issue 14 (6): every service loaded .data/dev.env, so a real .env omitting an optional
    # setting inherited ALLOW_INSECURE_HTTP=true and the sandbox GRAPH_API_URL.
    for name in ("docker-compose.yaml", "docker-compose.sandbox.yaml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / ".data").mkdir()
    (tmp_path / ".data" / "dev.env").write_text(
        "ALLOW_INSECURE_HTTP=true\nGRAPH_API_URL=http://sandbox_phone:9100\n"
    )
    (tmp_path / ".env").write_text("META_APP_SECRET=real-secret-from-dot-env\n")
    for profiles in ((), ("--profile", "sandbox")):
        environments = _environments(tmp_path, *profiles)
        for service in (*SERVICES, WORKER):
            assert "ALLOW_INSECURE_HTTP" not in environments[service], (profiles, service)
            assert "GRAPH_API_URL" not in environments[service], (profiles, service)
            assert environments[service]["META_APP_SECRET"] == "real-secret-from-dot-env"
    stand_ins = _environments(tmp_path, "--profile", "sandbox")
    assert stand_ins["sandbox_phone"]["ALLOW_INSECURE_HTTP"] == "true"
    local = _environments(
        tmp_path,
        "-f",
        "docker-compose.yaml",
        "-f",
        "docker-compose.sandbox.yaml",
        "--profile",
        "sandbox",
    )
    for service in (*SERVICES, WORKER):
        assert local[service]["ALLOW_INSECURE_HTTP"] == "true", service
