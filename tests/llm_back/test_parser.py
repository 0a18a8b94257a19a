"""The offline parser: accuracy on the labelled set, number conventions, speed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_back.amounts import settle
from llm_back.numbers import digits_value, words_value
from llm_back.parser import parse, parse_fragment
from llm_back.readings import offline_reading
from shared.contracts import UnderstandResponse
from tests.llm_back.support import FIELDS, Labelled, field_ok, load_labelled, read_offline

LABELLED = load_labelled()
HOLDOUT = load_labelled("labelled_holdout.txt")
MONEY_INTENTS = {"send_payment", "request_payment"}


def _accuracy(items: list[Labelled]) -> tuple[dict[str, float], float, list[str]]:
    readings = [(read_offline(i.text), i) for i in items]
    per_field = {f: sum(field_ok(g, i, f) for g, i in readings) / len(items) for f in FIELDS}
    misses = [i.text for g, i in readings if not all(field_ok(g, i, f) for f in FIELDS)]
    return per_field, 1 - len(misses) / len(items), misses


def test_labelled_set_is_big_and_bilingual():
    assert len(LABELLED) >= 300
    spanish = [i for i in LABELLED if parse(i.text).language == "es"]
    english = [i for i in LABELLED if parse(i.text).language == "en"]
    assert len(spanish) >= 120
    assert len(english) >= 100
    assert sum(i.intent == "send_payment" for i in LABELLED) >= 130
    assert sum(i.intent == "request_payment" for i in LABELLED) >= 10
    assert sum(i.intent not in MONEY_INTENTS for i in LABELLED) >= 100


def test_accuracy_on_the_labelled_set_is_at_least_97_percent():
    per_field, whole, misses = _accuracy(LABELLED)
    report = ", ".join(f"{f} {v:.1%}" for f, v in per_field.items())
    print(
        f"\noffline parser on {len(LABELLED)} labelled messages: {report}; all fields {whole:.1%}"
    )
    assert whole >= 0.97, misses


def test_accuracy_on_held_out_messages_is_at_least_97_percent():
    """Messages never used to tune the parser (their file says what happened to blind misses)."""
    per_field, whole, misses = _accuracy(HOLDOUT)
    report = ", ".join(f"{f} {v:.1%}" for f, v in per_field.items())
    print(f"\nheld-out ({len(HOLDOUT)}): {report}; all fields {whole:.1%}; misses: {misses}")
    assert whole >= 0.97, misses


@pytest.mark.parametrize("items", [LABELLED, HOLDOUT], ids=["labelled", "held-out"])
def test_nothing_that_is_not_a_payment_is_ever_read_as_one(items):
    """Requests, negations, questions, the past, thanks…: never a payment, on either set."""
    wrong = [
        i.text
        for i in items
        if i.intent != "send_payment" and read_offline(i.text).intent == "send_payment"
    ]
    assert wrong == []
    backwards = [
        i.text
        for i in items
        if i.intent == "send_payment" and read_offline(i.text).intent == "request_payment"
    ]
    assert backwards == []


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1.500,50", "1500.50"),
        ("1,500.50", "1500.50"),
        ("0,75", "0.75"),
        ("0.75", "0.75"),
        ("1,500", "1500"),
        ("1.500", "1500"),
        ("20,5", "20.5"),
        ("1.000.000", "1000000"),
        ("1,000,000.25", "1000000.25"),
        ("20", "20"),
    ],
)
def test_amounts_in_both_conventions(raw, value):
    assert digits_value(raw) == Decimal(value)


@pytest.mark.parametrize("raw", ["1.50.0", "1,5,0", "1.500,5.0", "12,34,567"])
def test_malformed_numbers_are_not_amounts(raw):
    assert digits_value(raw) is None


@pytest.mark.parametrize(
    ("words", "value"),
    [
        ("veinte", 20),
        ("cien", 100),
        ("mil quinientos", 1500),
        ("treinta y cinco", 35),
        ("dos mil trescientos cuarenta y cinco", 2345),
        ("twenty", 20),
        ("a hundred", 100),
        ("thirty five", 35),
        ("one hundred and fifty", 150),
        ("two thousand five hundred", 2500),
    ],
)
def test_number_words(words, value):
    tokens = [w for w in words.split() if w not in {"y", "and"}]
    assert words_value(tokens) == value
    assert parse(f"send {words} to Bob" if " y " not in words else f"manda {words} a Bob").monto


@given(
    whole=st.integers(min_value=1000, max_value=999_999_999),
    cents=st.integers(min_value=0, max_value=99),
)
def test_any_grouped_amount_reads_the_same_in_both_conventions(whole, cents):
    grouped = f"{whole:,}"
    english = f"{grouped}.{cents:02d}"
    spanish = grouped.replace(",", ".") + f",{cents:02d}"
    expected = Decimal(f"{whole}.{cents:02d}")
    assert digits_value(english) == expected
    assert digits_value(spanish) == expected
    assert Decimal(parse(f"mándale {spanish} a Bob").monto or "0") == expected


@pytest.mark.parametrize(
    "text",
    ["tengo 20 años", "meet me at 5", "the pizza was 20 dollars", "nos vemos a las 5:30"],
)
def test_numbers_that_are_not_payments(text):
    result = parse(text)
    assert result.intent.value == "other"
    assert result.monto is None


def test_the_recipient_is_returned_exactly_as_written():
    assert parse("mándale 20 a María José Ñúñez").destinatario == "María José Ñúñez"
    assert parse("send 5 to $wallet.example/bob.").destinatario == "$wallet.example/bob"
    assert parse("paga 5 a https://wallet.example/a?x=1,").destinatario == (
        "https://wallet.example/a?x=1"
    )
    assert parse("send 5 to +52 (55) 1234-5678!").destinatario == "+52 (55) 1234-5678"


def test_currency_only_when_the_user_said_one():
    assert parse("mándale 20 a Bob").currency is None
    assert parse("mándale $20 a Bob").currency == "USD"
    assert parse("mándale 20 euros a Bob").currency == "EUR"
    assert parse("mándale 20 MXN a Bob").currency == "MXN"
    assert parse("mándale 20 pen a Bob").currency is None  # a pen, not soles


def test_fragments_complete_a_previous_request():
    assert parse_fragment("to Bob").destinatario == "Bob"
    assert parse_fragment("a María José").destinatario == "María José"
    assert parse_fragment("Bob").destinatario == "Bob"
    assert parse_fragment("20").monto == "20"
    assert parse_fragment("qué onda").destinatario is None


def test_parsing_is_deterministic():
    """Speed is measured by `python -m bench parser_accuracy` (a ratio to a baseline), not here:
    a timed assertion fails on a loaded machine without anything being wrong."""
    texts = [i.text for i in LABELLED]
    first = [parse(t) for t in texts]
    for _ in range(3):
        assert [parse(t) for t in texts] == first


_WORDS = st.sampled_from(
    [
        "mándale",
        "envía",
        "send",
        "pay",
        "a",
        "to",
        "para",
        "Bob",
        "María",
        "José",
        "$wallet.example/bob",
        "1.500,50",
        "1,500.50",
        "veinte",
        "mil",
        "quinientos",
        "thirty-five",
        "1k",
        "lucas",
        "bucks",
        "pesos",
        "€",
        "$",
        "USD",
        "+52",
        "55",
        "1234",
        "5678",
        "https://wallet.example/a",
        "tengo",
        "años",
        "at",
        "5",
        "no",
        "otros",
        ",",
        ".",
        "?",
        "¿",
        "!",
        "0,75",
        "y",
        "and",
        "hundred",
    ]
)


@given(st.one_of(st.text(max_size=200), st.lists(_WORDS, max_size=12).map(" ".join)))
def test_any_text_parses_into_a_valid_answer(text):
    """Never an exception; after settling, the monto is always one the contract accepts."""
    result = settle(offline_reading(text, None, "USD"), "USD", 2)
    if result.monto is not None:
        UnderstandResponse(intent=result.intent, monto=result.monto, response="x")
        assert Decimal(result.monto) > 0
        assert -Decimal(result.monto).normalize().as_tuple().exponent <= 2  # type: ignore[operator]
    for part in result.parts:
        assert part.monto is None or Decimal(part.monto) > 0
    if result.destinatario is not None:
        assert result.destinatario in text
    assert result.currency is None or len(result.currency) == 3


def _settled(text: str, code: str = "USD", scale: int = 2):
    return settle(offline_reading(text, None, code), code, scale)


def test_dollar_sign_and_pesos_mean_the_users_own_peso():
    assert _settled("$200 a Bob", "MXN").currency == "MXN"
    assert _settled("mándale $200 a Bob", "COP").currency == "COP"
    assert _settled("$200 a Bob", "USD").currency == "USD"
    assert _settled("$200 a Bob", "EUR").currency == "USD"  # not a peso: "$" is the dollar
    assert _settled("mándale 50 pesos a Bob", "ARS").currency == "ARS"
    assert _settled("mándale 50 pesos a Bob", "USD").currency == "MXN"
    assert _settled("pasale 5 lucas a Fede", "ARS").currency == "ARS"


@pytest.mark.parametrize(
    ("text", "code", "scale", "issue", "monto"),
    [
        ("send 10.999 to bob", "USD", 2, "too_precise", None),
        ("send 10.99 to bob", "USD", 2, None, "10.99"),
        ("send 10.50 to bob", "CLP", 0, "too_precise", None),
        ("send 10 to bob", "CLP", 0, None, "10"),
        ("send 1.125 to bob", "KWD", 3, None, "1.125"),
        ("send 20.500 to bob", "USD", 2, None, "20.500"),  # exact: zeros are not precision
        ("manda -5 a Bob", "USD", 2, "negative", None),
        ("manda menos 5 a Bob", "USD", 2, "negative", None),
        ("send 0 to Bob", "USD", 2, "zero", None),
        ("send 10.999 euros to bob", "MXN", 2, "too_precise", None),  # EUR has 2 decimals too
        ("mándale 10.999 a Bob", "MXN", 2, "too_precise", None),  # Mexico: the dot is decimal
        ("mándale 10.999 a Bob", "ARS", 2, None, "10999"),  # Argentina: the dot groups
        ("mándale 2.000 a Bob", "MXN", 2, None, "2000"),
    ],
)
def test_amounts_are_refused_with_a_reason_never_scaled(text, code, scale, issue, monto):
    result = _settled(text, code, scale)
    assert (result.amount_issue, result.monto) == (issue, monto)
    assert result.destinatario is not None


def test_a_split_adds_up_to_the_total_in_minor_units():
    three = _settled("divide 100 entre Ana, Luis y Pepe")
    assert [p.monto for p in three.parts] == ["33.34", "33.33", "33.33"]
    with_me = _settled("split 100 between Bob, Alice and me")
    assert [p.monto for p in with_me.parts] == ["33.33", "33.33"]  # the user keeps the rest
    assert _settled("split 7 between Bob and Alice", "CLP", 0).parts[0].monto == "4"
    assert _settled("split 60 between Bob, Alice and me").split_total == "60"


def test_several_recipients_keep_the_first_in_monto_and_destinatario():
    result = parse("send 20 to Bob and 10 to $wallet.example/alice")
    assert (result.monto, result.destinatario) == ("20", "Bob")
    assert [(p.destinatario, p.monto) for p in result.parts] == [
        ("Bob", "20"), ("$wallet.example/alice", "10"),
    ]  # fmt: skip
    mixed = parse("20 a Bob y 10 dólares a Alice")  # the marked amount is Alice's, not Bob's
    assert (mixed.monto, mixed.currency, mixed.destinatario) == ("20", None, "Bob")
    assert parse("mándale 20 a Bob para el taxi").parts == ()
    assert parse("envía 50 a Bob, gracias!").parts == ()


@pytest.mark.parametrize(
    ("text", "every"),
    [
        ("mándale 10 a Bob cada mes", "P1M"),
        ("pay Alice 5 every week", "P1W"),
        ("envíale 50 a Pedro cada 3 días", "P3D"),
        ("send 5 to Bob every other week", "P2W"),
        ("págale 20 a Ana todos los viernes", "P1W"),
        ("send 100 to Mom yearly", "P1Y"),
        ("mándale 10 a Bob", None),
    ],
)
def test_recurrence_is_an_iso_duration(text, every):
    assert parse(text).recurrence == every


def test_questions_and_hypotheses_supply_nothing_to_a_pending_payment():
    assert parse_fragment("is 20 to Bob too much for dinner?").monto is None
    assert parse_fragment("si le mandas 20 a Bob?").destinatario is None
    assert parse_fragment("ya le pagué 20 a Bob").monto is None


def test_language_from_the_number_only_when_the_text_does_not_say():
    from llm_back.parser import number_language

    assert number_language("12125550199") == "en"
    assert number_language("17875550199") == "es"  # Puerto Rico
    assert number_language("5215512345678") is None
    assert parse("hi").language == "en"
    assert parse("ok", "en").language == "en"
    assert parse("hola", "en").language == "es"
