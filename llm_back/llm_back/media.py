"""Media input: inline base64 or a URL on an allowed host, within limits, of an allowed type.

Never a local path and never an arbitrary URL: a URL is fetched only over https (http only when
`MEDIA_ALLOW_HTTP` is set for local use) from a host in `MEDIA_ALLOWED_HOSTS`, without following
redirects, and the bytes must look like what the declared mime type says.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import httpx

from llm_back.settings import Settings
from shared.contracts import MediaItem

# The container a declared mime type must really be (first bytes), so a renamed file is refused.
_FAMILY = {
    "audio/ogg": "ogg", "audio/opus": "ogg", "audio/mpeg": "mp3", "audio/mp3": "mp3",
    "audio/mp4": "mp4", "audio/m4a": "mp4", "audio/x-m4a": "mp4", "audio/aac": "aac",
    "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/webm": "webm",
    "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/png": "png", "image/webp": "webp",
}  # fmt: skip
_EXTENSION = {"ogg": "ogg", "mp3": "mp3", "mp4": "m4a", "aac": "aac", "wav": "wav",
              "webm": "webm", "jpeg": "jpg", "png": "png", "webp": "webp"}  # fmt: skip


class InputError(Exception):
    """Bad input from the caller: carries the HTTP status (4xx) and a clear message."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Media:
    kind: Literal["audio", "image"]
    mime_type: str
    data: bytes
    filename: str

    @property
    def data_url(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode()}"


def sniff(data: bytes) -> str | None:
    """The container family from the first bytes, or None."""
    head = data[:16]
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"ID3") or head[:2] in {b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"}:
        return "mp3"
    if head[:2] in {b"\xff\xf1", b"\xff\xf9"}:
        return "aac"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


class MediaLoader:
    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    async def load(self, item: MediaItem) -> Media:
        mime = self._check_type(item)
        if (item.data is None) == (item.url is None):
            raise InputError(422, "Each media item needs exactly one of 'data' (base64) or 'url'.")
        data = self._decode(item.data) if item.data is not None else await self._fetch(item.url)
        if not data:
            raise InputError(422, "The media item is empty.")
        family = sniff(data)
        if family != _FAMILY.get(mime):
            raise InputError(
                415, f"The media content is not {mime} (it looks like {family or 'unknown data'})."
            )
        filename = item.filename or f"{item.type}.{_EXTENSION.get(family or '', 'bin')}"
        return Media(item.type, mime, data, filename)

    def _check_type(self, item: MediaItem) -> str:
        mime = item.mime_type.split(";")[0].strip().lower()
        allowed = self.settings.audio_types if item.type == "audio" else self.settings.image_types
        if mime not in allowed or mime not in _FAMILY:
            raise InputError(
                415,
                f"Unsupported {item.type} type {mime!r}; allowed: {', '.join(sorted(allowed))}.",
            )
        return mime

    def _decode(self, text: str) -> bytes:
        compact = "".join(text.split())
        if len(compact) * 3 // 4 > self.settings.max_media_bytes + 2:
            raise self._too_large()
        try:
            data = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            raise InputError(422, "Media 'data' is not valid base64.") from None
        if len(data) > self.settings.max_media_bytes:
            raise self._too_large()
        return data

    def _too_large(self) -> InputError:
        return InputError(
            413, f"Media too large: the limit is {self.settings.max_media_bytes} bytes per item."
        )

    async def _fetch(self, url: str | None) -> bytes:
        assert url is not None
        parts = urlsplit(url)
        schemes = {"https", "http"} if self.settings.media_allow_http else {"https"}
        if parts.scheme not in schemes or not parts.hostname:
            raise InputError(422, f"Media URLs must be {' or '.join(sorted(schemes))} URLs.")
        if parts.hostname.lower() not in self.settings.media_hosts:
            raise InputError(422, f"Media host {parts.hostname!r} is not allowed.")
        limit = self.settings.max_media_bytes
        try:
            async with self.client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise InputError(
                        422, f"Could not fetch the media: HTTP {response.status_code}."
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise self._too_large()
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise self._too_large()
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise InputError(422, f"Could not fetch the media: {type(exc).__name__}.") from None
        return b"".join(chunks)
