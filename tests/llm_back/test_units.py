"""Small pure pieces: follow-ups, breaker, reply texts, model-output clean-up, media sniffing."""

from __future__ import annotations

from llm_back import replies
from llm_back.breaker import CircuitBreaker
from llm_back.extraction import Understood, as_written, clean_amount, clean_currency
from llm_back.followup import complete
from llm_back.media import sniff
from llm_back.memory import Turn
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
    assert clean_amount("-5") == "5" or clean_amount("-5") is None
    assert clean_amount("0") is None
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
