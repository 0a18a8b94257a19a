"""Issue 16's phrases through the running service, offline and on the fake OpenAI (real processes).

Each phrase is asked of both: llm_back without a key (the offline parser) and llm_back on the
fake OpenAI (structured outputs, then the service's clean-up). Both must answer the same fields.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.contracts import UnderstandResponse
from tests.llm_back.conftest import start_on_fake
from tests.llm_back.support import understand
from tests.support.processes import ServiceProcess

_ids = itertools.count(1)


@pytest.fixture(scope="module")
def llm_model(
    fake_openai: ServiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    proc = start_on_fake(
        fake_openai,
        tmp_path_factory.mktemp("llm_both"),
        "sk-test-both-paths-0123456789",
        {"OPENAI_TEXT_FALLBACK_SECONDS": "10"},  # a loaded machine must not fall back here
    )
    yield proc
    proc.stop()


@pytest.fixture(params=["offline", "openai"])
def service(request: pytest.FixtureRequest) -> tuple[str, ServiceProcess]:
    name = "llm_offline" if request.param == "offline" else "llm_model"
    return request.param, request.getfixturevalue(name)


def _ask(service: tuple[str, ServiceProcess], message: str, **extra: Any) -> dict[str, Any]:
    source, proc = service
    body = {"wa_id": f"52155{next(_ids):08d}", "message": message, **extra}
    r = understand(proc.url, body)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    UnderstandResponse.model_validate(answer)  # what the gateway parses it with
    assert answer["source"] == source, answer
    return answer


def _fields(answer: dict[str, Any]) -> tuple[Any, ...]:
    return (
        answer["intent"],
        answer.get("monto"),
        answer.get("currency"),
        answer.get("destinatario"),
    )


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("cóbrale 50 a Bob", ("request_payment", "50", None, "Bob")),
        ("cobrale 20 a Bob", ("request_payment", "20", None, "Bob")),
        ("pídele 20 a Alice", ("request_payment", "20", None, "Alice")),
        ("request 20 from Alice", ("request_payment", "20", None, "Alice")),
        ("charge Bob 50", ("request_payment", "50", None, "Bob")),
        ("¿ya le llegó?", ("status", None, None, None)),
        ("estado", ("status", None, None, None)),
        ("status of my payment", ("status", None, None, None)),
        ("saldo", ("balance", None, None, None)),
        ("what's my balance?", ("balance", None, None, None)),
        ("¿cuánto cobran de comisión?", ("fees", None, None, None)),
        ("¿cuánto cuesta enviar dinero?", ("fees", None, None, None)),
        ("gracias", ("thanks", None, None, None)),
        ("thanks!", ("thanks", None, None, None)),
        ("👍", ("thanks", None, None, None)),
        ("help", ("help", None, None, None)),
        ("cambiar idioma", ("language", None, None, None)),
        ("no le mandes nada", ("cancel", None, None, None)),
        ("ya le pagué", ("other", None, None, None)),
        ("is 20 to Bob too much for dinner?", ("other", None, None, None)),
        ("send Bob 20 dollars and 50 cents", ("send_payment", "20.50", "USD", "Bob")),
        ("Mándale 20 varos al Chuy", ("send_payment", "20", "MXN", "Chuy")),
        ("Le debo 150 a Andrés, mándaselos", ("send_payment", "150", None, "Andrés")),
        ("me mandas 20 a Bob porfa", ("send_payment", "20", None, "Bob")),
        ("mándele 50 mil pesos a Pedro", ("send_payment", "50000", "MXN", "Pedro")),
    ],
)
def test_intents_and_fields_on_both_paths(service, text, want):
    answer = _ask(service, text)
    assert _fields(answer) == want, answer
    if want[0] == "request_payment":
        assert "pedir" in answer["response"] or "request" in answer["response"]
    if want[0] not in {"send_payment", "other"}:
        assert "No entendí" not in answer["response"]
        assert "didn't quite get" not in answer["response"]


@pytest.mark.parametrize(
    ("text", "target"),
    [("english please", "en"), ("en inglés por favor", "en"), ("cambiar idioma", None)],
)
def test_a_language_change_says_which_language(service, text, target):
    answer = _ask(service, text)
    assert answer["intent"] == "language"
    assert answer.get("target_language") == target
    if target == "en":
        assert "English" in answer["response"]
    assert not any(flag in answer["response"] for flag in ("🇲🇽", "🇪🇸"))


@pytest.mark.parametrize(
    ("text", "shares"),
    [
        ("20 a Bob y 10 a Alice", [("Bob", "20"), ("Alice", "10")]),
        ("send 20 to Bob and 10 to Alice", [("Bob", "20"), ("Alice", "10")]),
        ("split 60 between Bob, Alice and me", [("Bob", "20.00"), ("Alice", "20.00")]),
    ],
)
def test_several_recipients_are_all_listed(service, text, shares):
    answer = _ask(service, text)
    assert answer["intent"] == "send_payment"
    assert [(s["destinatario"], s["monto"]) for s in answer["recipients"]] == shares
    assert (answer["destinatario"], answer["monto"]) == shares[0]  # older gateways still work
    for name, _ in shares:
        assert name in answer["response"]
    if text.startswith("split"):
        assert answer["split_total"] == "60"


@pytest.mark.parametrize(
    ("text", "every"),
    [("mándale 10 a Bob cada mes", "P1M"), ("pay Alice 5 every week", "P1W")],
)
def test_a_repeat_is_never_dropped(service, text, every):
    answer = _ask(service, text)
    assert answer["intent"] == "send_payment"
    assert answer["recurrence"] == every
    assert ("cada" in answer["response"]) or ("every" in answer["response"])


@pytest.mark.parametrize(
    ("text", "issue"),
    [
        ("send 10.999 to bob", "too_precise"),
        ("transfer 12.345 to Ana", "too_precise"),
        ("manda -5 a Bob", "negative"),
        ("send 0 to Bob", "zero"),
    ],
)
def test_bad_amounts_are_refused_with_a_question(service, text, issue):
    answer = _ask(service, text)
    assert answer["intent"] == "send_payment"
    assert answer["amount_issue"] == issue
    assert answer.get("monto") is None  # never scaled, rounded or sign-flipped
    assert answer["response"].rstrip().endswith("?")
    if issue == "too_precise":
        assert text.split()[1] in answer["response"]  # says which amount it refused


def test_the_asset_scale_comes_from_the_request(service):
    answer = _ask(service, "send 10.50 to Bob", asset_code="CLP", asset_scale=0)
    assert answer["amount_issue"] == "too_precise"
    answer = _ask(service, "send 10.999 to Bob", asset_code="KWD", asset_scale=3)
    assert (answer.get("amount_issue"), answer["monto"]) == (None, "10.999")


def test_dollar_sign_is_the_users_peso(service, fake_openai):
    httpx.delete(fake_openai.url + "/_fake/requests")
    answer = _ask(service, "mándale $200 a Bob", asset_code="MXN", asset_scale=2)
    assert (answer["monto"], answer["currency"]) == ("200", "MXN")
    if service[0] == "openai":  # the model is told which asset the user's wallet holds
        [chat] = [r for r in httpx.get(fake_openai.url + "/_fake/requests").json()
                  if r["endpoint"] == "chat"]  # fmt: skip
        assert "MXN" in chat["system"]
    answer = _ask(service, "mándale $200 a Bob", asset_code="USD", asset_scale=2)
    assert answer["currency"] == "USD"


def test_a_plus_one_number_saying_hi_gets_english(service):
    _source, proc = service
    r = understand(proc.url, {"wa_id": "12125550123", "message": "hi"})
    assert r.json()["language"] == "en"
    assert r.json()["response"].startswith("Hi")


@pytest.mark.parametrize(
    ("text", "intent", "language"),
    [
        ("desvincular mi wallet", "unlink", "es"),
        ("desvincula mi cuenta", "unlink", "es"),
        ("quitar mi wallet", "unlink", "es"),
        ("unlink my wallet", "unlink", "en"),
        ("disconnect my wallet", "unlink", "en"),
        ("cambiar mi límite", "allowance", "es"),
        ("quiero cambiar el límite semanal", "allowance", "es"),
        ("change my spending limit", "allowance", "en"),
        ("mis pagos programados", "schedules", "es"),
        ("¿qué pagos tengo programados?", "schedules", "es"),
        ("cancela mis pagos automáticos", "schedules", "es"),
        ("my scheduled payments", "schedules", "en"),
        ("show my recurring payments", "schedules", "en"),
        ("stop paying Bob every month", "schedules", "en"),
        ("cancel my weekly payment to Bob", "schedules", "en"),
    ],
)
def test_the_linked_wallet_intents_on_both_paths(service, text, intent, language):
    """Issue 17: unlinking, the allowance and the scheduled payments, answered in the user's
    language and never as a payment."""
    answer = _ask(service, text)
    assert _fields(answer) == (intent, None, None, None), answer
    assert answer["language"] == language
    assert answer.get("recurrence") is None  # no new limit said, so no period either
    spanish = any(w in answer["response"] for w in ("límite", "billetera", "programados"))
    english = any(w in answer["response"] for w in ("limit", "wallet", "scheduled"))
    assert spanish if language == "es" else english, answer["response"]


@pytest.mark.parametrize(
    ("text", "want", "said"),
    [
        ("set my allowance to 50 a week", ("50", None, "P1W"), "every week"),
        ("hasta 30 dólares por semana", ("30", "USD", "P1W"), "cada semana"),
        ("sube mi tope a 200 pesos al mes", ("200", "MXN", "P1M"), "cada mes"),
    ],
)
def test_a_new_allowance_carries_its_amount_and_period(service, text, want, said):
    answer = _ask(service, text)
    assert answer["intent"] == "allowance", answer
    assert (answer.get("monto"), answer.get("currency"), answer.get("recurrence")) == want
    assert answer.get("destinatario") is None
    assert want[0] in answer["response"]
    assert said in answer["response"]


def test_an_answer_about_the_limit_is_the_new_allowance(service):
    """ "cambiar mi límite", then just "30 a la semana": the limit, not a payment to nobody."""
    asked = {"text": "cambiar mi límite", "intent": "allowance"}
    answer = _ask(service, "30 a la semana", recent=[asked])
    assert (answer["intent"], answer.get("monto"), answer.get("recurrence")) == (
        "allowance",
        "30",
        "P1W",
    )
    answer = _ask(service, "30 a la semana")  # without that turn it asks for no limit
    assert answer["intent"] != "allowance"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("mándale 10 a Bob cada mes", ("send_payment", "10", None, "Bob")),
        ("cobrale 50 a Bob", ("request_payment", "50", None, "Bob")),
        ("no la desvincules", ("cancel", None, None, None)),
    ],
)
def test_the_new_intents_leave_payments_and_negations_alone(service, text, want):
    answer = _ask(service, text)
    assert _fields(answer) == want, answer


@pytest.mark.parametrize(
    ("text", "issue"),
    [
        ("set my allowance to 0 a week", "zero"),
        ("límite de -5 a la semana", "negative"),
        ("set my limit to 10.999 a week", "too_precise"),
    ],
)
def test_an_unusable_limit_is_refused_with_a_question(service, text, issue):
    answer = _ask(service, text)
    assert (answer["intent"], answer["amount_issue"]) == ("allowance", issue)
    assert answer.get("monto") is None
    assert answer["response"].endswith(("¿Cuál quieres que sea tu límite?", "limit be?"))
