"""Issue 16, the gateway side, against the real services (sandbox wallet, op_api, llm_back's
offline parser) with the sandbox phone playing the users: several recipients in one message,
repeats, money requests and unusable amounts are never silently dropped or misread."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.op_api.harness import Wallet, start_wallet, wallet_env
from tests.support.processes import console_script, make_spawner
from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import Message, Stack, buttons_of, start_stack, text_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Wallet]]:
    base = tmp_path_factory.mktemp("ws_bot_issue16")
    spawn, started = make_spawner(base)
    wallet_proc, wallet = start_wallet(base / "wallet")
    try:
        op = spawn(
            "op_api",
            [console_script("op-api")],
            {
                **wallet_env(wallet),
                "PAYMENT_EXPIRY_SECONDS": "60",
                "WORKER_INTERVAL_SECONDS": "0.3",
            },
        )
        llm = spawn("llm_back", [console_script("llm-back")], {"OPENAI_API_KEY": ""})
        stack = start_stack(spawn, llm_url=llm.url, op_url=op.url, wallet_base=wallet.url)
        yield stack, wallet
    finally:
        for proc in reversed(started):
            proc.stop()
        wallet_proc.stop()


def _url(m: Message) -> str | None:
    i = m["body"].get("interactive", {})
    return i["action"]["parameters"]["url"] if i.get("type") == "cta_url" else None


def _is_summary(m: Message) -> bool:
    return "Confirm" in buttons_of(m) or "Confirmar" in buttons_of(m)


def _user(stack: Stack, wallet: Wallet, uid: Any, lang: str = "English", **book: str) -> str:
    """An onboarded user paying from a fresh wallet (50.00 USD), with contacts saved."""
    phone, wa_id = stack.phone, uid()
    own = wallet.add_wallet(f"u{wa_id}", "50.00")
    phone.onboard(wa_id, "Ana", pointer(own), lang=lang)
    for name, address in book.items():
        n = phone.count(wa_id)
        phone.say(wa_id, f"save {name} as {pointer(address)}")
        phone.wait_text(wa_id, "📇", after=n)
    return wa_id


def _approve_all(stack: Stack, wallet: Wallet, wa_id: str, after: int, count: int) -> None:
    deadline = time.monotonic() + 30
    links: list[str] = []
    while len(links) < count and time.monotonic() < deadline:
        links = [u for m in stack.phone.bot_messages(wa_id)[after:] if (u := _url(m))]
        time.sleep(0.1)
    assert len(links) == count, [text_of(m) for m in stack.phone.bot_messages(wa_id)[after:]]
    for link in links:
        assert wallet.answer(link, "approve").status_code == 200


def _receipts(stack: Stack, wa_id: str, after: int, count: int) -> list[str]:
    deadline = time.monotonic() + 40
    found: list[str] = []
    while time.monotonic() < deadline:
        said = [text_of(m) for m in stack.phone.bot_messages(wa_id)[after:]]
        found = [s for s in said if s.startswith("✅ Payment sent")]
        if len(found) >= count:
            return found
        time.sleep(0.2)
    raise AssertionError(f"receipts: {found}")


def test_two_recipients_one_summary_one_confirmation_each_paid_once(
    real: tuple[Stack, Wallet], uid
) -> None:
    stack, wallet = real
    phone = stack.phone
    bob, carl = wallet.add_wallet(f"b{uid()}", "0"), wallet.add_wallet(f"c{uid()}", "0")
    wa_id = _user(stack, wallet, uid, Bob=bob, Alice=carl)
    n = phone.count(wa_id)
    phone.say(wa_id, "send 20 to Bob and 10 to Alice")
    summary = text_of(phone.wait_for(wa_id, _is_summary, after=n, timeout=40))
    assert "Summary of 2 payments" in summary
    assert "20.00 USD to Bob" in summary
    assert "10.00 USD to Alice" in summary
    assert "Total leaving your wallet" in summary
    assert len([m for m in phone.bot_messages(wa_id)[n:] if _is_summary(m)]) == 1
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")
    _approve_all(stack, wallet, wa_id, n, 2)
    receipts = _receipts(stack, wa_id, n, 2)
    assert any("To: Bob" in r for r in receipts), receipts
    assert any("To: Alice" in r for r in receipts), receipts
    assert wallet.balance(bob.rsplit("/", 1)[1]) == 2000
    assert wallet.balance(carl.rsplit("/", 1)[1]) == 1000
    # Both in the history, each once.
    n = phone.count(wa_id)
    phone.say(wa_id, "history")
    history = text_of(phone.wait_text(wa_id, "→", after=n))
    assert history.count("→ Bob") == 1
    assert history.count("→ Alice") == 1


def test_split_in_spanish_and_an_unknown_name_pays_nobody(real: tuple[Stack, Wallet], uid) -> None:
    stack, wallet = real
    phone = stack.phone
    bob = wallet.add_wallet(f"b{uid()}", "0")
    wa_id = _user(stack, wallet, uid, "Español", Bob=bob)
    n = phone.count(wa_id)
    phone.say(wa_id, "20 a Bob y 10 a Zoe")
    answer = text_of(phone.wait_text(wa_id, "Aún no conozco a: Zoe", after=n, timeout=30))
    assert "No envié nada" in answer
    assert not any(_is_summary(m) for m in phone.bot_messages(wa_id)[n:])
    zoe = wallet.add_wallet(f"z{uid()}", "0")
    n = phone.count(wa_id)
    phone.say(wa_id, f"guarda a Zoe como {pointer(zoe)}")
    phone.wait_text(wa_id, "📇", after=n)
    n = phone.count(wa_id)
    phone.say(wa_id, "split 60 between Bob, Zoe and me")
    summary = text_of(phone.wait_for(wa_id, _is_summary, after=n, timeout=40))
    assert "20.00 USD a Bob" in summary
    assert "20.00 USD a Zoe" in summary
    assert "tu parte se queda contigo" in summary
    # Cancel names both, and a later tap on that summary is refused.
    n = phone.count(wa_id)
    phone.say(wa_id, "cancelar")
    cancelled = text_of(phone.wait_text(wa_id, "Cancelado", after=n))
    assert "Bob" in cancelled
    assert "Zoe" in cancelled
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirmar")
    phone.wait_text(wa_id, "ya no está vigente", after=n)
    assert wallet.balance(bob.rsplit("/", 1)[1]) == 0


def test_a_repeat_is_never_silently_ignored(real: tuple[Stack, Wallet], uid) -> None:
    stack, wallet = real
    phone = stack.phone
    bob = wallet.add_wallet(f"b{uid()}", "0")
    wa_id = _user(stack, wallet, uid, "Español", Bob=bob)
    n = phone.count(wa_id)
    phone.say(wa_id, "mándale 10 a Bob cada mes")
    phone.wait_text(wa_id, "Aún no puedo programar pagos que se repitan (cada mes)", after=n)
    summary = text_of(phone.wait_for(wa_id, _is_summary, after=n, timeout=30))
    assert "10.00 USD" in summary


def test_an_unusable_amount_gets_the_explanation_then_goes_on(
    real: tuple[Stack, Wallet], uid
) -> None:
    stack, wallet = real
    phone = stack.phone
    bob = wallet.add_wallet(f"b{uid()}", "0")
    wa_id = _user(stack, wallet, uid, "Español", Bob=bob)
    n = phone.count(wa_id)
    phone.say(wa_id, "manda -5 a Bob")
    told = text_of(phone.wait_text(wa_id, "negativa", after=n))
    assert re.search(r"¿Cuánto.*Bob\?", told), told
    assert not any(_is_summary(m) for m in phone.bot_messages(wa_id)[n:])
    n = phone.count(wa_id)
    phone.say(wa_id, "5")
    summary = text_of(phone.wait_for(wa_id, _is_summary, after=n, timeout=30))
    assert "5.00 USD" in summary
    assert "Bob" in summary
    n = phone.count(wa_id)
    phone.say(wa_id, "send 10.999 to Bob")
    told = text_of(phone.wait_text(wa_id, "10.99 or 11.00", after=n))
    assert not any(_is_summary(m) for m in phone.bot_messages(wa_id)[n:])
