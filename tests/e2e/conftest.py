"""The end-to-end stacks: started with the demo's own launcher (`DemoStack`) on free ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.demo.stack import DemoConfig, DemoStack, Ports
from tests.support.processes import free_port

# Short clocks so expiry and polling fit in a test; everything else is the demo's default.
FAST = {
    "op_api": {"PAYMENT_EXPIRY_SECONDS": "20", "WORKER_INTERVAL_SECONDS": "0.3"},
    "ws_bot": {
        "POLL_INITIAL_SECONDS": "0.3",
        "POLL_MAX_SECONDS": "1",
        "POLLER_TICK_SECONDS": "0.3",
    },
}


def _stack(base: Path, openai: str) -> DemoStack:
    ports = Ports(**{name: free_port() for name in vars(Ports())})
    config = DemoConfig(
        data_dir=base, ports=ports, openai=openai, wallet_wait_seconds=1, extra_env=FAST
    )
    return DemoStack(config)


@pytest.fixture(scope="module")
def offline_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    """The demo as a newcomer runs it: no OpenAI key, the offline parser."""
    with _stack(tmp_path_factory.mktemp("demo-offline"), "off") as stack:
        yield stack


@pytest.fixture(scope="module")
def model_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    """The demo with `--openai fake`: the model path (voice notes, receipt images)."""
    with _stack(tmp_path_factory.mktemp("demo-model"), "fake") as stack:
        yield stack
