"""The fake OpenAI speaks enough of the real API for the official SDK (a real process)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import openai
import pytest
from openai.lib._parsing._completions import type_to_response_format_param

from llm_back.extraction import Extraction, ReceiptReading
from sandbox.openai_api.ogg import comments, page_ok, pages, voice_note
from tests.llm_back.support import b64, png


@pytest.fixture
def client(fake) -> openai.OpenAI:
    return openai.OpenAI(api_key="anything", base_url=fake.url + "/v1", max_retries=0, timeout=5)


def _schema(model: type) -> Any:
    fmt: Any = type_to_response_format_param(model)
    return fmt["json_schema"]["schema"]


@pytest.mark.parametrize(
    "text",
    [
        "mándale 20 a Bob",
        "send $5 to $wallet.example/ana",
        "hola",
        "tengo 20 años",
        "",
        "20 a Bob y 10 a Alice",
        "split 60 between Bob, Alice and me",
        "english please",
    ],
)
def test_structured_outputs_validate_against_the_requested_schema(client, text):
    completion = client.chat.completions.parse(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "x"}, {"role": "user", "content": text}],
        response_format=Extraction,
    )
    content = completion.choices[0].message.content
    jsonschema.validate(json.loads(content or ""), _schema(Extraction))
    parsed = completion.choices[0].message.parsed
    assert parsed is not None
    assert completion.usage is not None
    assert completion.usage.total_tokens > 0
    if " y " in text or "split" in text:
        assert [r.destinatario for r in parsed.recipients] == ["Bob", "Alice"]


def test_vision_reads_receipt_tags_and_is_deterministic_otherwise(client):
    def read(image: bytes):
        completion = client.chat.completions.parse(
            model="gpt-4o-mini",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "read"},
                        {
                            "type": "image_url",
                            "image_url": {"url": f"data:image/png;base64,{b64(image)}"},
                        },
                    ],
                }
            ],
            response_format=ReceiptReading,
        )
        parsed = completion.choices[0].message.parsed
        assert parsed is not None
        jsonschema.validate(parsed.model_dump(), _schema(ReceiptReading))
        return parsed

    tagged = read(png({"receipt": "total=9.90;currency=EUR;payee=Café Sol"}))
    assert (tagged.is_receipt, tagged.total, tagged.currency, tagged.payee) == (
        True, "9.90", "EUR", "Café Sol",
    )  # fmt: skip
    assert read(png({"receipt": "no"})).is_receipt is False
    untagged = png({"Software": "camera"})
    assert read(untagged) == read(untagged)


def test_transcription_reads_the_voice_note_tag_and_detects_the_language(client):
    result = client.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=("note.ogg", voice_note("send 20 to Bob"), "audio/ogg")
    )
    assert result.text == "send 20 to Bob"
    assert result.languages
    assert result.languages[0].code == "en"
    verbose = client.audio.transcriptions.create(
        model="whisper-1",
        file=("note.ogg", voice_note("mándale 20 a Bob"), "audio/ogg"),
        response_format="verbose_json",
    )
    assert verbose.language == "spanish"


def test_speech_is_a_real_ogg_opus_file(client, tmp_path: Path):
    audio = client.audio.speech.create(
        model="gpt-4o-mini-tts", voice="alloy", input="Hola Ana", response_format="opus"
    ).content
    assert all(page_ok(p) for p in pages(audio))
    assert comments(audio)["TRANSCRIPT"] == "Hola Ana"
    assert len(audio) < 10_000
    if shutil.which("opusinfo"):  # the reference tool, when installed, agrees
        path = tmp_path / "reply.opus"
        path.write_bytes(audio)
        out = subprocess.run(["opusinfo", str(path)], capture_output=True, text=True, check=True)
        assert "Playback length" in out.stdout
        assert "WARNING" not in out.stdout + out.stderr


def test_a_missing_key_is_401_and_faults_can_be_injected(fake, client):
    r = httpx.post(fake.url + "/v1/chat/completions", json={"model": "m", "messages": []})
    assert r.status_code == 401
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"X-Fake-Fault": "error"},
        )
    httpx.post(fake.url + "/_fake/faults", json={"mode": "malformed", "count": 1})
    with pytest.raises(Exception):  # noqa: B017 - whatever the SDK raises on broken JSON
        client.chat.completions.parse(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            response_format=Extraction,
        )
    ok = client.chat.completions.parse(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        response_format=Extraction,
    )
    assert ok.choices[0].message.parsed is not None  # count=1: the fault is used up


def test_plain_and_json_mode_chat(client, fake):
    plain = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hola"}]
    )
    assert plain.choices[0].message.content == "¡Hola! ¿A quién le envío dinero?"
    as_json = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "send 20 to Bob"}],
        response_format={"type": "json_object"},
    )
    data = json.loads(as_json.choices[0].message.content or "")
    assert (data["intent"], data["amount"], data["recipient"]) == ("send_payment", "20", "Bob")
    r = httpx.post(
        fake.url + "/v1/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True},
        headers={"Authorization": "Bearer x"},
    )
    assert r.status_code == 400


def test_untagged_audio_gets_a_fixed_phrase_and_junk_is_refused(client):
    webm = b"\x1a\x45\xdf\xa3" + bytes(range(64))
    first = client.audio.transcriptions.create(model="m", file=("a.webm", webm, "audio/webm"))
    again = client.audio.transcriptions.create(model="m", file=("a.webm", webm, "audio/webm"))
    assert first.text == again.text != ""
    with pytest.raises(openai.BadRequestError):
        client.audio.transcriptions.create(model="m", file=("a.ogg", b"not audio", "audio/ogg"))


def test_vision_reads_a_jpeg_comment(client):
    comment = "total=120.00;currency=MXN;payee=Farmacia López".encode()
    jpeg = b"\xff\xd8\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + b"\xff\xd9"
    completion = client.chat.completions.parse(
        model="gpt-4o-mini",
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "image_url",
                        "image_url": {"url": f"data:image/jpeg;base64,{b64(jpeg)}"},
                    }
                ],
            }
        ],
        response_format=ReceiptReading,
    )
    parsed = completion.choices[0].message.parsed
    assert parsed is not None
    assert (parsed.total, parsed.currency, parsed.payee) == ("120.00", "MXN", "Farmacia López")
