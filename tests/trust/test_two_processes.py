"""A payment through ws_bot as two processes (ROLE=webhook beside ROLE=worker) on one SQLite
file, with the real op_api and the sandbox wallet: Meta's retries and a user's repeated taps
all land on the webhook process, the worker answers them, and the money moves once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.trust.support import (
    FAST_POLLING,
    Replicated,
    duplicates_pay_once,
    pointer,
    replicated_stack,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicated]:
    with replicated_stack(
        tmp_path_factory.mktemp("two_processes"),
        replicas=1,
        bot_env=FAST_POLLING,
        worker_process=True,
    ) as s:
        yield s


def test_retried_asks_and_repeated_taps_pay_once_with_one_receipt(stack: Replicated) -> None:
    wa_id = str(15550800000 + uuid.uuid4().int % 99999)
    wallet = stack.wallet.add_wallet(f"ana{wa_id}", "100.00")
    stack.phone.onboard(wa_id, "Ana", pointer(wallet))
    webhook = stack.bots[0].url  # every delivery to the webhook process; the worker answers
    name = wallet.rsplit("/", 1)[1]
    duplicates_pay_once(stack, wa_id, "Ana", name, [webhook], asks=10, taps=10)
