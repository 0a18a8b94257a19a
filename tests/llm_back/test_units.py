"""Small pure pieces: follow-ups, breaker, reply texts, model-output clean-up, media sniffing."""

from __future__ import annotations

from dataclasses import replace

from llm_back import replies
from llm_back.amounts import settle
from llm_back.breaker import CircuitBreaker
from llm_back.extraction import (
    Extraction,
    Part,
    Understood,
    as_written,
    clean_amount,
    clean_currency,
    from_extraction,
)
from llm_back.followup import complete
from llm_back.media import sniff
from llm_back.memory import Turn
from llm_back.readings import checked_model_reading
from sandbox.openai_api.ogg import voice_note
from shared.contracts import Intent
from tests.llm_back.support import png

PAY = Intent.SEND_PAYMENT.value


def _u(intent: str, monto=None, dest=None, repeat=False) -> Understood:
    return Understood(intent, monto, None, dest, "es", repeat=repeat)


def test_a_recipient_follow_up_completes_the_pending_draft():
    draft = Turn("", PAY, "20", None, None)
    merged = complete(_u("other"), "to Bob", [], draft)
    assert (merged.intent, merged.monto, merged.destinatario) == (PAY, "20", "Bob")


def test_an_amount_follow_up_completes_a_pending_recipient():
    draft = Turn("", PAY, None, None, "Bob")
    merged = complete(_u(PAY, monto="20"), "mándale 20", [], draft)
    assert (merged.monto, merged.destinatario) == ("20", "Bob")
    merged = complete(_u("other"), "20", [], draft)
    assert (merged.intent, merged.monto, merged.destinatario) == (PAY, "20", "Bob")


def test_otros_means_the_previous_recipient():
    history = [Turn("mándale 20 a Bob", PAY, "20", None, "Bob")]
    merged = complete(_u(PAY, monto="10", repeat=True), "mándale otros 10", history, None)
    assert merged.destinatario == "Bob"
    # Without "otros" a finished payment is not reused: the bot must ask.
    assert complete(_u(PAY, monto="10"), "mándale 10", history, None).destinatario is None


def test_unrelated_messages_are_not_merged():
    draft = Turn("", PAY, "20", None, None)
    assert complete(_u("other"), "jaja", [], draft).intent == "other"
    assert complete(_u("cancel"), "cancel", [], draft).intent == "cancel"


def test_without_a_draft_an_earlier_unfinished_turn_is_not_resumed():
    """ws_bot cancelled the draft: "manda 33" earlier must not leak into a new request."""
    history = [Turn("manda 33", PAY, "33", None, None), Turn("cancela", "cancel", None, None, None)]
    merged = complete(_u(PAY, dest="Bob"), "manda dinero a Bob", history, None)
    assert (merged.monto, merged.destinatario) == (None, "Bob")


def test_breaker_opens_after_failures_and_tries_again_later():
    now = [0.0]
    breaker = CircuitBreaker(failures=2, reset_seconds=10, clock=lambda: now[0])
    assert breaker.allow()
    breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert breaker.state == "open"
    assert not breaker.allow()
    now[0] = 11
    assert breaker.allow()  # one trial
    assert not breaker.allow()  # and only one
    breaker.failure()
    assert breaker.state == "open"
    now[0] = 22
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed"
    assert breaker.allow()


def test_no_reply_ever_claims_that_money_moved():
    for language in ("es", "en"):
        for intent in Intent:
            for monto, dest in [("20", "Bob"), (None, "Bob"), ("20", None), (None, None)]:
                text = replies.for_result(intent.value, monto, "USD", dest, language, "Ana")
                assert text
                assert not replies.claims_money_moved(text), text
        for kind in ("audio", "image"):
            assert not replies.claims_money_moved(replies.media_unavailable(kind, language))


def test_no_reply_for_the_new_fields_claims_money_moved_or_assumes_a_flag():
    cases = [
        Understood("request_payment", "50", None, "Bob", "es"),
        Understood("request_payment", None, None, "Bob", "en"),
        Understood("send_payment", "20", None, "Bob", "es",
                   parts=(Part("Bob", "20"), Part("Alice", "10"))),
        Understood("send_payment", None, None, "Bob", "en",
                   parts=(Part("Bob"), Part("Alice")), split_total="60", split_between=3),
        Understood("send_payment", "10", None, "Bob", "es", recurrence="P1M"),
        Understood("send_payment", "10", None, "Bob", "en", recurrence="P3D"),
        Understood("send_payment", "10.999", None, "bob", "en"),
        Understood("send_payment", "-5", None, "Bob", "es"),
        Understood("request_payment", "0", None, None, "en"),
        Understood("language", None, None, None, "es", target_language="en"),
        Understood("language", None, None, None, "en", target_language="es"),
        Understood("language", None, None, None, "es"),
    ]  # fmt: skip
    for case in cases:
        for language in ("es", "en"):
            u = settle(replace(case, language=language), "USD", 2)
            text = replies.reply(u, "Ana", "USD", 2)
            assert text
            assert not replies.claims_money_moved(text), text
            assert "🇲🇽" not in text
            assert "🇪🇸" not in text
    too_precise = settle(cases[6], "USD", 2)
    assert "10.99" in replies.reply(too_precise, "", "USD", 2)
    assert "11.00" in replies.reply(too_precise, "", "USD", 2)
    one_bad = Understood("send_payment", "20", None, "Bob", "en",
                         parts=(Part("Bob", "20"), Part("Alice", "-5")))  # fmt: skip
    assert "send Alice?" in replies.reply(settle(one_bad, "USD", 2), "", "USD", 2)
    split = replies.reply(settle(cases[3], "USD", 2), "", "USD", 2)
    assert "20.00 to Bob" in split
    assert "stays with you" in split


def _model(text: str, **fields) -> Understood:
    """What the service makes of a model answer for `text` (the clean-up and the cross-check)."""
    base: dict[str, object] = {
        "intent": "send_payment", "monto": None, "currency": None, "destinatario": None,
        "recipients": [], "split_total": None, "split_between": None, "recurrence": None,
        "target_language": None, "language": "en", "response": "ok",
    }  # fmt: skip
    extraction = Extraction.model_validate({**base, **fields})
    return checked_model_reading(from_extraction(extraction, text), text, None, "USD")


def test_the_model_cannot_turn_a_request_question_or_negation_into_a_payment():
    asked = _model("cóbrale 50 a Bob", monto="50", destinatario="Bob")
    assert (asked.intent, asked.monto, asked.destinatario) == ("request_payment", "50", "Bob")
    assert _model("is 20 to Bob too much for dinner?", monto="20").intent == "other"
    assert _model("ya le pagué 20 a Bob", monto="20").intent == "other"
    assert _model("no le mandes nada a Bob").intent == "cancel"
    assert _model("no le cobres a Bob", intent="request_payment").intent == "cancel"


def test_the_model_amount_yields_to_the_parsers_reading_and_gaps_are_filled():
    # "50 mil pesos" read as 50 (a USD wallet): the parser's 50000 MXN wins.
    pesos = _model("mándele 50 mil pesos a Pedro", monto="50", destinatario="Pedro")
    assert (pesos.monto, pesos.currency) == ("50000", "MXN")
    # A model that drops the second recipient or the repeat: the parser adds them back.
    both = _model("send 20 to Bob and 10 to Alice", monto="20", destinatario="Bob")
    assert [(p.destinatario, p.monto) for p in both.parts] == [("Bob", "20"), ("Alice", "10")]
    assert _model("mándale 10 a Bob cada mes", monto="10").recurrence == "P1M"
    # A sign the model dropped is not lost.
    assert _model("manda -5 a Bob", monto="5", destinatario="Bob").monto == "-5"
    # Junk from the model is not trusted.
    junk = _model("send 5 to Bob", recurrence="every month", recipients=[
        {"destinatario": "Mallory", "monto": "5", "currency": None},
        {"destinatario": "Bob", "monto": "5", "currency": None},
    ])  # fmt: skip
    assert junk.recurrence is None
    assert junk.parts == ()  # Mallory is not in the message


def test_model_replies_claiming_a_payment_are_replaced():
    template = "¿A quién?"
    assert replies.safe_model_reply("Listo, ya le envié 20 a Bob", template) == template
    assert replies.safe_model_reply("Done! I sent $20 to Bob.", template) == template
    assert replies.safe_model_reply("Payment completed", template) == template
    assert (
        replies.safe_model_reply("¡Hola! ¿En qué te ayudo?", template) == "¡Hola! ¿En qué te ayudo?"
    )


def test_model_output_is_cleaned():
    assert clean_amount("$1,500.50") == "1500.50"
    assert clean_amount("1.500,50") == "1500.50"
    # Sign and decimals are kept as said; amounts.settle refuses them with a reason.
    assert clean_amount("-5") == "-5"
    assert clean_amount("0") == "0"
    assert clean_amount("10.999") == "10.999"
    assert clean_amount("veinte") is None
    assert clean_currency("usd") == "USD"
    assert clean_currency("dollars") is None
    # The recipient must be in what the user wrote, and comes back as written there.
    assert as_written("bob", "mándale 20 a Bob") == "Bob"
    assert as_written("maria jose", "envía 5 a María José") == "María José"
    assert as_written("Robert", "mándale 20 a Bob") is None


def test_media_sniffing():
    assert sniff(voice_note("hola")) == "ogg"
    assert sniff(png()) == "png"
    assert sniff(b"\xff\xd8\xff\xe0rest") == "jpeg"
    assert sniff(b"plain text") is None


def test_model_replies_with_links_are_replaced():
    template = "¿A quién?"
    assert replies.safe_model_reply("Paga aquí: https://evil.example/pay", template) == template
    assert replies.safe_model_reply("Send it to $evil.example/me", template) == template


def test_a_cancelled_trial_does_not_keep_the_breaker_open():
    now = [0.0]
    breaker = CircuitBreaker(failures=1, reset_seconds=10, clock=lambda: now[0])
    breaker.failure()
    now[0] = 11
    assert breaker.allow()
    breaker.abandon()
    assert breaker.allow()


def test_a_cadence_left_on_the_recipient_is_dropped() -> None:
    from llm_back.extraction import Extraction, from_extraction
    from llm_back.recurrence import without_cadence

    for said in ("bob every week", "bob cada semana", "bob monthly", "bob cada 2 semanas"):
        assert without_cadence(said) == "bob"
    assert without_cadence("Bob") == "Bob"
    assert without_cadence("$wallet.example/bob") == "$wallet.example/bob"
    assert without_cadence("every week") == "every week"  # never an empty recipient
    # The model path too: a model that keeps the cadence on the name is corrected.
    said = "pay 5 to bob every week"
    got = from_extraction(
        Extraction(intent="send_payment", monto="5", currency=None,
                   destinatario="bob every week", recipients=[], split_total=None,
                   split_between=None, recurrence="P1W", target_language=None, language="en",
                   response="ok"),
        said,
    )  # fmt: skip
    assert (got.destinatario, got.recurrence) == ("bob", "P1W")
