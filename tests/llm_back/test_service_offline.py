"""llm_back as a real process without an OpenAI key: offline answers, auth, input limits."""

from __future__ import annotations

import httpx
import pytest

from sandbox.openai_api.ogg import voice_note
from shared.contracts import UnderstandResponse
from tests.llm_back.support import AUTH, b64, png, understand
from tests.support.processes import TEST_TOKEN, console_script


def test_health_on_root_and_health(llm_offline):
    assert httpx.get(llm_offline.url + "/").json()["status"] == "ok"
    assert httpx.get(llm_offline.url + "/health").json()["service"] == "llm_back"
    assert httpx.get(llm_offline.url + "/ready").status_code == 200


def test_text_is_understood_offline(llm_offline):
    r = understand(
        llm_offline.url,
        {"wa_id": "5215500000001", "name": "Ana", "message": "mándale 1.500,50 pesos a María José"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    UnderstandResponse.model_validate(body)  # what ws_bot parses it with
    assert body["intent"] == "send_payment"
    assert body["monto"] == "1500.50"
    assert body["currency"] == "MXN"
    assert body["destinatario"] == "María José"
    assert body["source"] == "offline"
    assert body["language"] == "es"
    assert "confirm" in body["response"].lower()


def test_non_payment_and_english(llm_offline):
    body = understand(llm_offline.url, {"wa_id": "5215500000002", "message": "meet me at 5"}).json()
    assert body["intent"] == "other"
    assert body.get("monto") is None
    body = understand(
        llm_offline.url, {"wa_id": "5215500000002", "message": "send $20 to $wallet.example/bob"}
    ).json()
    assert (body["intent"], body["monto"], body["currency"], body["destinatario"]) == (
        "send_payment", "20", "USD", "$wallet.example/bob",
    )  # fmt: skip
    assert body["language"] == "en"


def test_follow_ups_use_the_context_ws_bot_sends(llm_offline):
    """llm_back keeps no state: the draft and the recent turns come with each message."""
    wa = "5215500000003"
    first = understand(llm_offline.url, {"wa_id": wa, "message": "send 20"}).json()
    assert first["intent"] == "send_payment"
    assert "who" in first["response"].lower()
    draft = {"monto": "20"}
    second = understand(llm_offline.url, {"wa_id": wa, "message": "to Bob", "draft": draft}).json()
    assert (second["intent"], second["monto"], second["destinatario"]) == (
        "send_payment",
        "20",
        "Bob",
    )
    recent = [{"text": "to Bob", "intent": "send_payment", "monto": "20", "destinatario": "Bob"}]
    third = understand(
        llm_offline.url, {"wa_id": wa, "message": "mándale otros 10", "recent": recent}
    ).json()
    assert (third["monto"], third["destinatario"]) == ("10", "Bob")
    # Without the draft nothing is remembered: the same words alone are not a payment.
    alone = understand(llm_offline.url, {"wa_id": wa, "message": "to Bob"}).json()
    assert alone["intent"] == "other"


def test_voice_notes_and_images_without_a_key_ask_to_type(llm_offline):
    audio = {"type": "audio", "mimeType": "audio/ogg; codecs=opus", "data": b64(voice_note("hola"))}
    body = understand(llm_offline.url, {"wa_id": "521550000005", "media": [audio]}).json()
    assert body["intent"] == "other"
    assert "escrib" in body["response"]
    image = {"type": "image", "mimeType": "image/png", "data": b64(png())}
    body = understand(
        llm_offline.url, {"wa_id": "521550000005", "media": [image], "language": "en"}
    ).json()
    assert body["intent"] == "other"
    assert "type" in body["response"]
    # A caption is still understood offline.
    body = understand(
        llm_offline.url,
        {"wa_id": "521550000005", "message": "págale 30 a Don Pepe", "media": [image]},
    ).json()
    assert (body["monto"], body["destinatario"]) == ("30", "Don Pepe")


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "Missing internal token"),
        ({"Authorization": "Bearer wrong-token-0123456789"}, "Invalid"),
    ],
)
def test_the_internal_token_is_required(llm_offline, headers, detail):
    r = understand(llm_offline.url, {"wa_id": "1", "message": "hola"}, headers=headers)
    assert r.status_code == 401
    assert detail in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"wa_id": "1", "message": ""}, 422, "empty"),
        ({"wa_id": "1", "message": "   "}, 422, "empty"),
        ({"wa_id": "1", "message": "hola", "amount": 5}, 422, "amount"),
        ({"message": "hola"}, 422, "wa_id"),
        ({"wa_id": "1", "message": "x" * 2001}, 422, "too long"),
        ({"wa_id": "1", "message": "hola", "language": "fr"}, 422, "language"),
        (
            {
                "wa_id": "1",
                "media": [{"type": "audio", "mimeType": "audio/ogg", "data": b64(b"x" * 30000)}],
            },
            413,
            "too large",
        ),
        (
            {
                "wa_id": "1",
                "media": [{"type": "audio", "mimeType": "audio/ogg", "data": b64(png())}],
            },
            415,
            "not audio/ogg",
        ),
        (
            {
                "wa_id": "1",
                "media": [{"type": "image", "mimeType": "image/gif", "data": b64(b"GIF89a")}],
            },
            415,
            "Unsupported image type",
        ),
        (
            {"wa_id": "1", "media": [{"type": "audio", "mimeType": "video/mp4", "data": "AAAA"}]},
            415,
            "Unsupported audio type",
        ),
        (
            {
                "wa_id": "1",
                "media": [{"type": "image", "mimeType": "image/png", "data": "no base64!"}],
            },
            422,
            "base64",
        ),
        ({"wa_id": "1", "media": [{"type": "image", "mimeType": "image/png"}]}, 422, "exactly one"),
        (
            {
                "wa_id": "1",
                "media": [{"type": "image", "mimeType": "image/png", "url": "file:///etc/passwd"}],
            },
            422,
            "https",
        ),
        (
            {
                "wa_id": "1",
                "media": [
                    {"type": "image", "mimeType": "image/png", "url": "https://evil.example/x.png"}
                ],
            },
            422,
            "not allowed",
        ),
        (
            {
                "wa_id": "1",
                "media": [
                    {"type": "image", "mimeType": "image/png", "url": "http://media.example/x.png"}
                ],
            },
            422,
            "https",
        ),
        (
            {"wa_id": "1", "media": [{"type": "video", "mimeType": "video/mp4", "data": "AAAA"}]},
            422,
            "type",
        ),
    ],
)
def test_bad_input_gets_a_clear_4xx(llm_offline, body, status, fragment):
    r = understand(llm_offline.url, body)
    assert r.status_code == status, r.text
    assert fragment.lower() in str(r.json()["detail"]).lower()


def test_a_body_over_the_limit_is_413(spawn):
    proc = spawn("llm_back", [console_script("llm-back")], env={"MAX_BODY_BYTES": "5000"})
    r = understand(proc.url, {"wa_id": "1", "message": "hola", "media": [
        {"type": "image", "mimeType": "image/png", "data": "A" * 8000}]})  # fmt: skip
    assert r.status_code == 413


def test_not_json_is_422(llm_offline):
    r = httpx.post(
        llm_offline.url + "/webhook/whatsapp",
        content=b"{not json",
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert r.status_code == 422


def test_the_token_never_reaches_the_logs(llm_offline):
    understand(llm_offline.url, {"wa_id": "1", "message": "hola"})
    assert TEST_TOKEN not in llm_offline.logs()


def test_an_amount_hundreds_of_digits_long_is_asked_again_not_a_500(llm_offline):
    """Found when the branches met: such a monto broke the response's own contract (500)."""
    for digits in (45, 300):
        r = understand(
            llm_offline.url, {"wa_id": "15551230000", "message": f"send {'9' * digits} to Bob"}
        )
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["amount_issue"] == "too_large"
        assert answer.get("monto") is None
        assert "How much" in answer["response"]
