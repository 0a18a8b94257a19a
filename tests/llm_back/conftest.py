"""Processes shared by the llm_back tests of one module (starting them costs ~1 s each)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import ServiceProcess, console_script, make_spawner


def start(name: str, args: list[str], env: dict[str, str], tmp: Path) -> ServiceProcess:
    """Start a process for a whole module (the `spawn` fixture is per test)."""
    spawn, _ = make_spawner(tmp)
    return spawn(name, args, env)


def start_on_fake(
    fake: ServiceProcess, tmp: Path, api_key: str, env: dict[str, str]
) -> ServiceProcess:
    """llm_back for a whole module, on the fake OpenAI; the breaker never opens (fault tests)."""
    base = {"OPENAI_API_KEY": api_key, "OPENAI_BASE_URL": fake.url + "/v1"}
    return start(
        "llm_back", [console_script("llm-back")], {**base, "BREAKER_FAILURES": "1000", **env}, tmp
    )


@pytest.fixture(scope="module")
def fake_openai(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    tmp = tmp_path_factory.mktemp("fake_openai")
    proc = start(
        "fake_openai", [console_script("paguito-sandbox"), "openai", "--port", "{port}"], {}, tmp
    )
    yield proc
    proc.stop()


@pytest.fixture
def fake(fake_openai: ServiceProcess) -> Iterator[ServiceProcess]:
    """The module's fake OpenAI with faults and the request log reset around each test."""
    httpx.delete(fake_openai.url + "/_fake/faults")
    httpx.delete(fake_openai.url + "/_fake/requests")
    yield fake_openai
    httpx.delete(fake_openai.url + "/_fake/faults")


@pytest.fixture(scope="module")
def llm_offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """llm_back without an OpenAI key: the offline parser answers everything."""
    tmp = tmp_path_factory.mktemp("llm_offline")
    proc = start(
        "llm_back",
        [console_script("llm-back")],
        {"MAX_MEDIA_BYTES": "20000", "MEDIA_ALLOWED_HOSTS": "media.example"},
        tmp,
    )
    yield proc
    proc.stop()
