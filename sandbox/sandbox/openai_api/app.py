"""A fake OpenAI API: chat completions (structured outputs, vision), transcriptions, speech.

Enough of the real wire format for the official SDK to work against it. Deterministic answers
(see `reading.py`), token usage on every answer, and switches to misbehave on purpose:

- `POST /_fake/faults {"mode": "malformed"|"slow"|"error"|"refusal", "count": 1,
  "delay": 10, "endpoints": ["chat", "transcriptions", "speech"]}` (count null = until reset;
  endpoints omitted = all); `DELETE /_fake/faults` resets.
- or per request, the header `X-Fake-Fault: malformed|slow|error|refusal`.
- `GET /_fake/requests` lists what was received (endpoint, model, options) for assertions;
  `DELETE /_fake/requests` clears it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.datastructures import UploadFile

from sandbox.openai_api import ogg, reading
from sandbox.openai_api.schema_fill import fill

MODES = {"malformed", "slow", "error", "refusal"}
ENDPOINTS = {"chat", "transcriptions", "speech"}


@dataclass
class Faults:
    mode: str | None = None
    remaining: int | None = None
    delay: float = 10.0
    endpoints: set[str] = field(default_factory=lambda: set(ENDPOINTS))

    def take(self, endpoint: str, header: str | None) -> str | None:
        if header in MODES:
            return header
        if self.mode is None or endpoint not in self.endpoints:
            return None
        mode = self.mode
        if self.remaining is not None:
            self.remaining -= 1
            if self.remaining <= 0:
                self.mode, self.remaining = None, None
        return mode


def _error(status: int, message: str, kind: str, code: str | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status)


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def create_app() -> FastAPI:
    app = FastAPI(title="fake OpenAI", description=__doc__)
    faults = Faults()
    received: list[dict[str, Any]] = []
    ids = itertools.count(1)

    async def misbehave(endpoint: str, request: Request) -> tuple[str | None, Response | None]:
        mode = faults.take(endpoint, request.headers.get("x-fake-fault"))
        if mode == "slow":
            await asyncio.sleep(faults.delay)
        if mode == "error":
            return mode, _error(500, "The fake is having an outage.", "server_error")
        return mode, None

    @app.middleware("http")
    async def require_key(request: Request, call_next: Any) -> Response:
        if request.url.path.startswith("/v1/"):
            auth = request.headers.get("authorization", "")
            if not auth.startswith("Bearer ") or not auth[7:].strip():
                return _error(401, "Missing API key.", "invalid_request_error", "invalid_api_key")
        response: Response = await call_next(request)
        return response

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": "fake-openai"}

    @app.post("/_fake/faults")
    async def set_faults(request: Request) -> dict[str, Any]:
        body = await request.json()
        mode = body.get("mode")
        if mode not in MODES:
            return {"error": f"mode must be one of {sorted(MODES)}"}
        faults.mode = mode
        faults.remaining = body.get("count")
        faults.delay = float(body.get("delay", 10.0))
        faults.endpoints = set(body.get("endpoints") or ENDPOINTS)
        return {"mode": mode, "remaining": faults.remaining}

    @app.delete("/_fake/faults")
    async def reset_faults() -> dict[str, str]:
        faults.mode, faults.remaining = None, None
        return {"mode": "none"}

    @app.get("/_fake/requests")
    async def list_requests() -> list[dict[str, Any]]:
        return received

    @app.delete("/_fake/requests")
    async def clear_requests() -> dict[str, int]:
        received.clear()
        return {"cleared": 1}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        names = ["gpt-4o-mini", "gpt-4o-transcribe", "gpt-4o-mini-tts"]
        return {
            "object": "list",
            "data": [{"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in names],
        }

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await _json_object(request)
        if body is None:
            return _error(400, "Body must be a JSON object.", "invalid_request_error")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not body.get("model"):
            return _error(400, "'model' and 'messages' are required.", "invalid_request_error")
        if body.get("stream"):
            return _error(400, "The fake does not stream; omit 'stream'.", "invalid_request_error")
        text, images = _last_user(messages)
        fmt = body.get("response_format")
        fmt = fmt if isinstance(fmt, dict) else {}
        schema = (fmt.get("json_schema") or {}).get("schema")
        received.append(
            {
                "endpoint": "chat",
                "model": body["model"],
                "safety_identifier": body.get("safety_identifier"),
                "response_format": (fmt.get("json_schema") or {}).get("name"),
                "images": len(images),
                "messages": len(messages),
                # Every system message, in order (the prompt, then the chat's language/asset).
                "system": "\n".join(
                    m["content"]
                    for m in messages
                    if m.get("role") == "system" and isinstance(m.get("content"), str)
                )
                or None,
            }
        )
        mode, failure = await misbehave("chat", request)
        if failure is not None:
            return failure
        if images:
            image_reading = reading.read_image(images[0])
            facts = {**image_reading, "amount": image_reading["total"],
                     "recipient": image_reading["payee"]}  # fmt: skip
        else:
            facts = reading.read_text(text)
        if schema:
            content: str | None = json.dumps(fill(schema, facts), ensure_ascii=False)
        elif fmt.get("type") == "json_object" or images:  # JSON mode, or a bare image reading
            content = json.dumps(facts, ensure_ascii=False)
        else:  # plain chat: the reply text
            content = str(facts.get("response", ""))
        refusal = None
        if mode == "malformed":
            content = '{"intent": "send_payment", "monto": 20, "destin'  # cut off mid-object
        elif mode == "refusal":
            content, refusal = None, "I can't help with that."
        prompt = sum(_tokens(json.dumps(m.get("content"))) for m in messages) + 85 * len(images)
        completion = _tokens(content or refusal or "")
        return JSONResponse(
            {
                "id": f"chatcmpl-fake-{next(ids)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "system_fingerprint": "fp_fake",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": refusal},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            }
        )

    @app.post("/v1/audio/transcriptions")
    async def transcriptions(request: Request) -> Response:
        form = await request.form()
        upload = form.get("file")
        model = form.get("model")
        if not isinstance(upload, UploadFile) or not isinstance(model, str):
            return _error(400, "'file' and 'model' are required.", "invalid_request_error")
        data = await upload.read()
        forced = form.get("language")
        fmt = str(form.get("response_format") or "json")
        received.append(
            {
                "endpoint": "transcriptions",
                "model": model,
                "filename": upload.filename,
                "content_type": upload.content_type,
                "language": forced if isinstance(forced, str) else None,
                "response_format": fmt,
                "bytes": len(data),
            }
        )
        mode, failure = await misbehave("transcriptions", request)
        if failure is not None:
            return failure
        if not _is_audio(data):
            return _error(
                400, "Audio file might be corrupted or unsupported.", "invalid_request_error"
            )
        text, language = reading.transcribe(data)
        if isinstance(forced, str) and forced:
            language = forced
        if mode == "malformed":
            return JSONResponse({"txt": text[:3]})
        if fmt == "text":
            return PlainTextResponse(text)
        usage = {
            "type": "tokens",
            "input_tokens": max(1, len(data) // 200),
            "output_tokens": _tokens(text),
            "total_tokens": max(1, len(data) // 200) + _tokens(text),
        }
        if fmt == "verbose_json":
            full = {"es": "spanish", "en": "english"}.get(language, language)
            return JSONResponse(
                {"task": "transcribe", "language": full, "duration": 0.8, "text": text,
                 "segments": [], "usage": {"type": "duration", "seconds": 0.8}}
            )  # fmt: skip
        return JSONResponse(
            {"text": text, "language": language, "languages": [{"code": language}], "usage": usage}
        )

    @app.post("/v1/audio/speech")
    async def speech(request: Request) -> Response:
        body = await _json_object(request)
        if body is None:
            return _error(400, "Body must be a JSON object.", "invalid_request_error")
        text = body.get("input")
        if (
            not isinstance(text, str)
            or not text.strip()
            or not body.get("model")
            or not body.get("voice")
        ):
            return _error(
                400, "'model', 'voice' and 'input' are required.", "invalid_request_error"
            )
        if len(text) > ogg.MAX_TEXT:
            return _error(400, "'input' is longer than 4096 characters.", "invalid_request_error")
        fmt = body.get("response_format", "mp3")
        received.append(
            {"endpoint": "speech", "model": body["model"], "voice": body["voice"],
             "response_format": fmt, "input": text}
        )  # fmt: skip
        mode, failure = await misbehave("speech", request)
        if failure is not None:
            return failure
        if fmt != "opus":
            return _error(
                400, "The fake produces only response_format 'opus'.", "invalid_request_error"
            )
        if mode == "malformed":
            return Response(b"this is not audio", media_type="audio/ogg")
        language = reading.language_of(text)
        return Response(ogg.voice_note(text, language), media_type="audio/ogg")

    return app


def _is_audio(data: bytes) -> bool:
    """The formats OpenAI accepts (ogg, mp3, mp4/m4a, wav, webm, flac), by their first bytes."""
    heads = (b"OggS", b"ID3", b"\xff\xfb", b"\xff\xf3", b"RIFF", b"\x1a\x45\xdf\xa3", b"fLaC")
    return data.startswith(heads) or data[4:8] == b"ftyp"


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _last_user(messages: list[Any]) -> tuple[str, list[bytes]]:
    """Text and image bytes of the last user message (string or content parts)."""
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content, []
        texts: list[str] = []
        images: list[bytes] = []
        for part in content if isinstance(content, list) else []:
            if part.get("type") == "text":
                texts.append(str(part.get("text", "")))
            elif part.get("type") == "image_url":
                url = str((part.get("image_url") or {}).get("url", ""))
                if url.startswith("data:") and ";base64," in url:
                    try:
                        images.append(base64.b64decode(url.split(";base64,", 1)[1]))
                    except (binascii.Error, ValueError):
                        continue
        return " ".join(texts), images
    return "", []
