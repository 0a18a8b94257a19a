"""openai costs ~15 MiB resident even offline: llm_back imports it only when a key is set."""

from __future__ import annotations

import subprocess
import sys

from pydantic import SecretStr

from llm_back.openai_path import OpenAIBackend
from llm_back.settings import Settings

_CHECK = "import sys, llm_back.main; print('openai' in sys.modules)"


def test_starting_without_a_key_never_imports_openai() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CHECK], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"


def test_a_key_brings_the_sdk_in() -> None:
    settings = Settings(
        internal_api_token=SecretStr("x" * 20),
        openai_api_key=SecretStr("sk-test-0123456789"),
        openai_base_url="http://127.0.0.1:9/v1",
    )
    backend = OpenAIBackend(settings)
    assert type(backend.client).__module__.startswith("openai")
    assert "openai" in sys.modules
