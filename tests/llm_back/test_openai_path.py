"""llm_back against the fake OpenAI (both real processes): the SDK path end to end; fallbacks."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from sandbox.openai_api.ogg import comments, page_ok, pages, voice_note
from shared.contracts import UnderstandResponse
from shared.pseudonyms import derive_key, pseudonym
from tests.llm_back.conftest import start_on_fake
from tests.llm_back.support import b64, png, understand
from tests.support.processes import TEST_TOKEN, ServiceProcess, console_script

API_KEY = "sk-test-do-not-log-0123456789"
RECEIPT = png({"receipt": "total=23.50;currency=USD;payee=Tacos El Güero"})


@pytest.fixture(scope="module")
def llm(
    fake_openai: ServiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    proc = start_on_fake(
        fake_openai,
        tmp_path_factory.mktemp("llm_openai"),
        API_KEY,
        {
            "OPENAI_TIMEOUT_SECONDS": "1",
            "MEDIA_ALLOWED_HOSTS": "127.0.0.1",
            "MEDIA_ALLOW_HTTP": "true",
        },
    )
    yield proc
    proc.stop()


def _spawn_llm(spawn: Any, fake: ServiceProcess, **env: str) -> ServiceProcess:
    """A test's own llm_back on the fake OpenAI (for settings the shared one must not have)."""
    base = {"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": fake.url + "/v1"}
    proc: ServiceProcess = spawn("llm_back_own", [console_script("llm-back")], env={**base, **env})
    return proc


def _requests(fake: ServiceProcess, endpoint: str) -> list[dict[str, Any]]:
    return [r for r in httpx.get(fake.url + "/_fake/requests").json() if r["endpoint"] == endpoint]


def _fault(fake: ServiceProcess, mode: str, **kw) -> None:
    httpx.post(fake.url + "/_fake/faults", json={"mode": mode, **kw}).raise_for_status()


def test_text_goes_through_structured_outputs(llm, fake):
    body = understand(llm.url, {"wa_id": "52100", "message": "mándale 20 dólares a Bob"}).json()
    assert body["source"] == "openai"
    assert (body["intent"], body["monto"], body["currency"], body["destinatario"]) == (
        "send_payment", "20", "USD", "Bob",
    )  # fmt: skip
    [chat] = _requests(fake, "chat")
    assert chat["model"] == "gpt-4o-mini"
    assert chat["response_format"] == "Extraction"
    assert "Paguito" in chat["system"]
    assert "never" in chat["system"].lower()


def test_voice_note_is_transcribed_and_answered_with_a_voice_note(llm, fake):
    note = voice_note("envíale 100 pesos a María José")
    audio = {"type": "audio", "mimeType": "audio/ogg; codecs=opus", "data": b64(note)}
    body = understand(llm.url, {"wa_id": "52101", "media": [audio]}).json()
    parsed = UnderstandResponse.model_validate(body)  # what ws_bot parses it with
    assert parsed.audio_mime_type == "audio/ogg; codecs=opus"
    assert body["transcript"] == "envíale 100 pesos a María José"
    assert body["language"] == "es"
    assert (body["intent"], body["monto"], body["currency"], body["destinatario"]) == (
        "send_payment", "100", "MXN", "María José",
    )  # fmt: skip
    reply = base64.b64decode(body["audio"])
    assert reply.startswith(b"OggS")
    assert all(page_ok(p) for p in pages(reply))
    assert comments(reply)["TRANSCRIPT"] == body["response"]  # the fake speaks what it was given
    assert body["audioMimeType"].startswith("audio/ogg")
    [transcription] = _requests(fake, "transcriptions")
    assert transcription["model"] == "gpt-4o-transcribe"
    assert transcription["language"] is None  # detected, never forced
    assert transcription["content_type"] == "audio/ogg"
    [speech] = _requests(fake, "speech")
    assert (speech["model"], speech["response_format"]) == ("gpt-4o-mini-tts", "opus")


def test_receipt_image_becomes_a_payment(llm, fake):
    image = {"type": "image", "mimeType": "image/png", "data": b64(RECEIPT)}
    body = understand(llm.url, {"wa_id": "52102", "media": [image], "language": "es"}).json()
    assert (body["intent"], body["monto"], body["currency"], body["destinatario"]) == (
        "send_payment", "23.50", "USD", "Tacos El Güero",
    )  # fmt: skip
    [vision] = _requests(fake, "chat")
    assert (vision["images"], vision["response_format"]) == (1, "ReceiptReading")


def test_a_caption_names_the_recipient_of_a_receipt(llm, fake):
    image = {"type": "image", "mimeType": "image/png", "data": b64(RECEIPT)}
    body = understand(
        llm.url, {"wa_id": "52103", "message": "págale esto a Don Pepe", "media": [image]}
    ).json()
    assert (body["monto"], body["destinatario"]) == ("23.50", "Don Pepe")


def test_a_request_caption_asks_for_the_receipts_total(llm, fake):
    image = {"type": "image", "mimeType": "image/png", "data": b64(RECEIPT)}
    body = understand(
        llm.url, {"wa_id": "52104", "message": "cóbrale esto a Bob", "media": [image]}
    ).json()
    assert (body["intent"], body["monto"], body["currency"], body["destinatario"]) == (
        "request_payment", "23.50", "USD", "Bob",
    )  # fmt: skip


@pytest.fixture
def media_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            payload = RECEIPT if self.path == "/receipt.png" else b""
            self.send_response(200 if payload else 404)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_media_by_url_from_an_allowed_host(llm, fake, media_server):
    image = {"type": "image", "mimeType": "image/png", "url": media_server + "/receipt.png"}
    body = understand(llm.url, {"wa_id": "52104", "media": [image]}).json()
    assert body["monto"] == "23.50"
    missing = {"type": "image", "mimeType": "image/png", "url": media_server + "/nope.png"}
    r = understand(llm.url, {"wa_id": "52104", "media": [missing]})
    assert r.status_code == 422
    assert "404" in r.json()["detail"]


def test_malformed_model_output_falls_back_to_the_offline_parser(llm, fake):
    _fault(fake, "malformed", endpoints=["chat"])
    r = understand(llm.url, {"wa_id": "52105", "message": "send thirty-five bucks to Alice"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source"] == "offline"
    assert (body["monto"], body["currency"], body["destinatario"]) == ("35", "USD", "Alice")


def test_a_refusal_falls_back(llm, fake):
    _fault(fake, "refusal", endpoints=["chat"])
    body = understand(llm.url, {"wa_id": "52106", "message": "mándale 5 a Ana"}).json()
    assert (body["source"], body["destinatario"]) == ("offline", "Ana")


def test_a_timeout_falls_back_quickly(llm, fake):
    _fault(fake, "slow", delay=5, endpoints=["chat"])
    started = time.monotonic()
    r = understand(llm.url, {"wa_id": "52107", "message": "pay Bob 1,500.50"})
    elapsed = time.monotonic() - started
    assert r.status_code == 200
    assert r.json()["source"] == "offline"
    assert r.json()["monto"] == "1500.50"
    assert elapsed < 2.0, elapsed


def test_an_outage_falls_back_for_every_stage(llm, fake):
    _fault(fake, "error")
    note = {"type": "audio", "mimeType": "audio/ogg", "data": b64(voice_note("send 20 to Bob"))}
    body = understand(llm.url, {"wa_id": "52108", "media": [note], "language": "en"}).json()
    assert body["intent"] == "other"
    assert "type it" in body["response"]
    body = understand(llm.url, {"wa_id": "52108", "message": "send 20 to Bob"}).json()
    assert (body["source"], body["destinatario"]) == ("offline", "Bob")


def test_speech_failure_still_answers_in_text(llm, fake):
    _fault(fake, "malformed", endpoints=["speech"])
    note = {"type": "audio", "mimeType": "audio/ogg", "data": b64(voice_note("mándale 20 a Bob"))}
    body = understand(llm.url, {"wa_id": "52109", "media": [note]}).json()
    assert body["transcript"] == "mándale 20 a Bob"
    assert "audio" not in body
    assert body["response"]


def test_tokens_are_counted_per_model_and_logged_per_user(llm, fake):
    understand(llm.url, {"wa_id": "52110", "message": "hola"})
    metrics = httpx.get(llm.url + "/metrics").text
    assert 'paguito_llm_tokens_total{direction="input",kind="chat",model="gpt-4o-mini"}' in metrics
    assert '"input_tokens"' in llm.logs()
    assert '"user"' in llm.logs()
    assert "52110" not in llm.logs()  # users appear as a hash, not their number


def test_users_are_keyed_pseudonyms_in_logs_and_at_openai(llm, fake):
    # issue 14 (7): the log id was an unsalted truncated SHA-256 of the number (reversed in
    # 17 s), and the same value went to OpenAI.
    httpx.delete(fake.url + "/_fake/requests")
    understand(llm.url, {"wa_id": "5215550001234", "message": "hola"})
    sent = {r["safety_identifier"] for r in _requests(fake, "chat")}
    expected = pseudonym(derive_key(TEST_TOKEN), "5215550001234")
    assert sent == {expected}
    plain_hash = hashlib.sha256(b"5215550001234").hexdigest()
    assert plain_hash[:12] not in llm.logs()
    assert f'"user": "{expected}"' in llm.logs() or f'"user":"{expected}"' in llm.logs()


def test_the_api_key_never_reaches_the_logs(llm, fake):
    understand(llm.url, {"wa_id": "52111", "message": "send 20 to Bob"})
    assert API_KEY not in llm.logs()


def test_a_dead_openai_costs_nothing_once_the_breaker_opens(spawn, fake):
    proc = _spawn_llm(
        spawn,
        fake,
        OPENAI_TIMEOUT_SECONDS="1",
        BREAKER_FAILURES="2",
        BREAKER_RESET_SECONDS="60",
        OPENAI_CHAT_MODEL="gpt-test-chat",
    )
    _fault(fake, "error")
    for _ in range(2):
        assert (
            understand(proc.url, {"wa_id": "52112", "message": "send 5 to Bob"}).status_code == 200
        )
    assert [r["model"] for r in _requests(fake, "chat")] == ["gpt-test-chat"] * 2
    httpx.delete(fake.url + "/_fake/faults")
    body = understand(proc.url, {"wa_id": "52112", "message": "send 5 to Bob"}).json()
    assert body["source"] == "offline"
    assert len(_requests(fake, "chat")) == 2  # the open breaker skipped OpenAI
    assert "paguito_llm_breaker_open 1.0" in httpx.get(proc.url + "/metrics").text


def test_the_budget_bounds_all_stages_of_one_message(spawn, fake):
    proc = _spawn_llm(spawn, fake, OPENAI_TIMEOUT_SECONDS="10", OPENAI_BUDGET_SECONDS="1")
    _fault(fake, "slow", delay=5)
    note = {"type": "audio", "mimeType": "audio/ogg", "data": b64(voice_note("send 20 to Bob"))}
    started = time.monotonic()
    r = understand(proc.url, {"wa_id": "52113", "message": "send 20 to Bob", "media": [note]})
    assert r.status_code == 200
    assert time.monotonic() - started < 2.5
    assert (r.json()["source"], r.json()["destinatario"]) == ("offline", "Bob")
