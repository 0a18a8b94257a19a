"""The dialogue's dangerous cases against the real services, on both understanding paths:
llm_back's offline parser and llm_back over the fake OpenAI. ws_bot owns the dialogue's state
and llm_back keeps none, so a cancel, a correction or a typed "confirmo" mean the same on both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.op_api.harness import Wallet
from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import Message, Phone, Stack, buttons_of, real_stack, text_of

pytestmark = pytest.mark.slow
WAIT = 30.0


@pytest.fixture(scope="module", params=["offline", "openai"])
def real(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, Wallet]]:
    base = tmp_path_factory.mktemp(f"dialogue_{request.param}")
    with real_stack(base, fake_openai=request.param == "openai") as (stack, wallet, _):
        yield stack, wallet


def _is_summary(m: Message) -> bool:
    return "Confirmar" in buttons_of(m)


def _approval(m: Message) -> bool:
    return bool(m["body"].get("interactive", {}).get("type") == "cta_url")


def _said(phone: Phone, wa_id: str, text: str, needle: str) -> str:
    n = phone.count(wa_id)
    phone.say(wa_id, text)
    return text_of(phone.wait_text(wa_id, needle, after=n, timeout=WAIT))


def _summary(phone: Phone, wa_id: str, text: str) -> str:
    n = phone.count(wa_id)
    phone.say(wa_id, text)
    return text_of(phone.wait_for(wa_id, _is_summary, after=n, timeout=WAIT))


def _received(summary: str) -> str:
    found = re.search(r"Recibe: (\d+\.\d{2} [A-Z]{3})", summary)
    assert found, summary
    return found.group(1)


def _maria(real: tuple[Stack, Wallet], uid: Any) -> tuple[Phone, str]:
    stack, wallet = real
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "María", pointer(wallet.address("alice")), lang="Español")
    ana = wallet.add_wallet(f"ana{wa_id}", "0")
    for name, address in (("Bob", wallet.address("bob")), ("Ana", ana)):
        _said(phone, wa_id, f"guarda a {name} como {pointer(address)}", "📇")
    return phone, wa_id


def test_cancel_then_a_new_request_starts_clean(real, uid) -> None:
    phone, wa_id = _maria(real, uid)
    _said(phone, wa_id, "manda 33", "¿A quién le envío 33.00 USD?")
    _said(phone, wa_id, "cancelar", "Cancelado: 33.00 USD.")
    asked = _said(phone, wa_id, "manda dinero a Bob", "¿Cuánto quieres enviar a Bob?")
    assert "33" not in asked
    # A follow-up still completes the request it answers.
    _said(phone, wa_id, "cancelar", "Cancelado")
    _said(phone, wa_id, "manda 12", "¿A quién le envío 12.00 USD?")
    assert _received(_summary(phone, wa_id, "a Bob")) == "12.00 USD"


def test_repeats_corrections_and_a_typed_confirmation(real, uid) -> None:
    phone, wa_id = _maria(real, uid)
    summary = _summary(phone, wa_id, "mándale 20 a Bob... no espera, mejor a Ana")
    assert "Ana" in summary
    assert "Bob" not in summary
    assert _received(summary) == "20.00 USD"  # Ana receives the amount named; fee on top
    _said(phone, wa_id, "mándale 20 a Ana", "ya está listo")
    summary = _summary(phone, wa_id, "no, mejor 30")
    assert _received(summary) == "30.00 USD"
    assert "Ana" in summary
    n = phone.count(wa_id)
    phone.say(wa_id, "confirmo")
    phone.wait_for(wa_id, _approval, after=n, timeout=WAIT)
    assert not any("Perfecto" in text_of(m) for m in phone.bot_messages(wa_id)[n:])
    _said(phone, wa_id, "mándale 30 a Ana", "¿Lo envío otra vez?")


def test_a_cross_currency_summary_shows_the_rate_and_the_fee(real, uid) -> None:
    _, wallet = real
    phone, wa_id = _maria(real, uid)
    pesos = wallet.add_wallet(f"pesos{wa_id}", "0", asset="MXN")
    _said(phone, wa_id, "guarda a Lupe como " + pointer(pesos), "📇")
    summary = _summary(phone, wa_id, "envía 10 dólares a Lupe")
    assert "Sale de tu billetera: 10.00 USD" in summary  # fixed in the currency named
    assert re.search(r"Tipo de cambio: 1 USD = [\d.]+ MXN", summary), summary
    assert "Comisión: —" not in summary


def test_answers_and_errors_in_the_users_language(real, uid) -> None:
    stack, wallet = real
    phone, wa_id = stack.phone, uid()
    poor = wallet.add_wallet(f"poor{wa_id}", "1.00")
    phone.onboard(wa_id, "Pía", pointer(poor), lang="Español")
    _said(phone, wa_id, "guarda a Bob como " + pointer(wallet.address("bob")), "📇")
    n = phone.count(wa_id)
    phone.say(wa_id, "envía 20 a Bob")
    answer = phone.wait_for(
        wa_id,
        lambda m: "No pude preparar" in text_of(m) or _is_summary(m),
        after=n,
        timeout=WAIT,
    )
    if _is_summary(answer):  # the wallet quoted: the payment fails after approval instead
        n = phone.count(wa_id)
        phone.say(wa_id, "sí")
        link = phone.wait_for(wa_id, _approval, after=n, timeout=WAIT)
        n = phone.count(wa_id)
        assert wallet.answer(link["body"]["interactive"]["action"]["parameters"]["url"]).is_success
        answer = phone.wait_text(wa_id, "falló", after=n, timeout=WAIT)
        refused = text_of(answer)
        assert "Bob (20.00 USD)" in refused
    else:
        refused = text_of(answer)
        assert "20.00 USD a Bob" in refused
        assert re.search(r"Referencia: P-[0-9A-F]{6}$", refused)
    assert "fondos suficientes" in refused
    assert not re.search(r"\b(the|wallet|refused|insufficient|funds)\b", refused)
    assert poor in _said(phone, wa_id, "saldo", "no puede ver tu saldo")
    _said(phone, wa_id, "estado", "Tu último pago: 20.00 USD a Bob — fallido")
    listed = _said(phone, wa_id, "idioma", "Elige tu idioma")
    assert "Soy Paguito" not in listed
