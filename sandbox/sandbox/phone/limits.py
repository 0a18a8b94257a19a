"""The Cloud API's own checks on outgoing messages: the fake refuses what Meta would refuse.

Every refusal is a `GraphError`, answered in Meta's error shape
(`{"error": {"message", "type", "code", "error_subcode", "error_data", "fbtrace_id"}}`).
"""

from __future__ import annotations

import secrets
import unicodedata
from typing import Any
from urllib.parse import urlsplit

# Meta's error_subcode for a parameter the Cloud API refuses (131009 and 100 share it).
INVALID_PARAMETER_SUBCODE = 2494010

# What `POST /{phone_id}/media` takes (Meta's "supported media types" table).
UPLOAD_TYPES = frozenset(
    {
        "audio/aac",
        "audio/amr",
        "audio/mpeg",
        "audio/mp4",
        "audio/ogg",
        "image/jpeg",
        "image/png",
        "image/webp",
        "video/mp4",
        "video/3gpp",
        "text/plain",
        "application/pdf",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    }
)


class GraphError(Exception):
    def __init__(
        self,
        message: str,
        code: int = 131009,
        status: int = 400,
        subcode: int = INVALID_PARAMETER_SUBCODE,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.subcode = subcode

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": f"(#{self.code}) {self}",
                "type": "OAuthException",
                "code": self.code,
                "error_subcode": self.subcode,
                "error_data": {"messaging_product": "whatsapp", "details": str(self)},
                "fbtrace_id": secrets.token_urlsafe(12),
            }
        }


def _length(value: Any, limit: int, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise GraphError(f"Parameter value is not valid: {what} is required")
    if len(value) > limit:
        raise GraphError(f"Parameter value is not valid: {what} is longer than {limit} characters")


def _unique(values: list[Any], what: str) -> None:
    if len(set(values)) != len(values):
        raise GraphError(f"Parameter value is not valid: {what} must be unique")


# Code points that may appear inside an emoji sequence besides the pictographs themselves:
# zero-width joiner, variation selectors, the keycap mark and tag characters (flags).
_EMOJI_JOINERS = frozenset({"\u200d", "\ufe0e", "\ufe0f", "\u20e3"})


def is_emoji(text: str) -> bool:
    """One emoji (sequence): pictographs (`So`), skin-tone modifiers, joiners, keycaps, flags."""
    if not text or len(text) > 16:
        return False
    if len(text) >= 2 and text[0] in "0123456789#*" and text.endswith("\u20e3"):
        return all(c in _EMOJI_JOINERS for c in text[1:])
    pictographs = 0
    for char in text:
        category = unicodedata.category(char)
        if category == "So":
            pictographs += 1
        elif not (
            char in _EMOJI_JOINERS
            or 0x1F3FB <= ord(char) <= 0x1F3FF  # skin tones (category Sk)
            or 0xE0020 <= ord(char) <= 0xE007F  # tag characters of subdivision flags
        ):
            return False
    return pictographs > 0


def _check_url(url: Any) -> None:
    _length(url, 2000, "url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise GraphError("Parameter value is not valid: url must be an http(s) URL")


def _check_buttons(action: dict[str, Any]) -> None:
    buttons = action.get("buttons") or []
    if not 1 <= len(buttons) <= 3:
        raise GraphError("Parameter value is not valid: 1 to 3 buttons allowed")
    for button in buttons:
        if button.get("type", "reply") != "reply":
            raise GraphError("Parameter value is not valid: button type must be 'reply'")
        reply = button.get("reply") or {}
        _length(reply.get("title"), 20, "button title")
        _length(reply.get("id"), 256, "button id")
    _unique([b["reply"]["id"] for b in buttons], "button ids")
    _unique([b["reply"]["title"] for b in buttons], "button titles")


def _check_list(action: dict[str, Any]) -> None:
    _length(action.get("button"), 20, "list button")
    sections = action.get("sections") or []
    if not 1 <= len(sections) <= 10:
        raise GraphError("Parameter value is not valid: 1 to 10 sections allowed")
    for section in sections:
        if len(sections) > 1 or section.get("title") is not None:
            _length(section.get("title"), 24, "section title")
    rows = [row for section in sections for row in section.get("rows") or []]
    if not 1 <= len(rows) <= 10:
        raise GraphError("Parameter value is not valid: 1 to 10 list rows allowed")
    for row in rows:
        _length(row.get("title"), 24, "row title")
        _length(row.get("id"), 200, "row id")
        if len(row.get("description") or "") > 72:
            raise GraphError("Parameter value is not valid: row description over 72 characters")
    _unique([r["id"] for r in rows], "row ids")
    _unique([r["title"] for r in rows], "row titles")


def check_interactive(interactive: dict[str, Any]) -> None:
    kind = interactive.get("type")
    body = interactive.get("body") or {}
    _length(body.get("text"), 4096 if kind == "list" else 1024, "body.text")
    action = interactive.get("action") or {}
    header = interactive.get("header")
    if kind == "button":
        _check_buttons(action)
    elif kind == "list":
        if header and header.get("type") != "text":
            raise GraphError("Parameter value is not valid: list headers can only be text")
        _check_list(action)
    elif kind == "cta_url":
        if action.get("name") != "cta_url":
            raise GraphError("Parameter value is not valid: action.name must be 'cta_url'")
        params = action.get("parameters") or {}
        _length(params.get("display_text"), 20, "display_text")
        _check_url(params.get("url"))
    else:
        raise GraphError(f"Unsupported interactive type {kind!r}", code=100)
    if header and header.get("type") == "text":
        _length(header.get("text"), 60, "header")
    footer = interactive.get("footer")
    if footer:
        _length(footer.get("text"), 60, "footer")


def check_message(payload: dict[str, Any]) -> None:
    if payload.get("messaging_product") != "whatsapp":
        raise GraphError("messaging_product must be 'whatsapp'", code=100)
    kind = payload.get("type", "text")
    content = payload.get(kind)
    if not isinstance(content, dict):
        raise GraphError(f"Missing '{kind}' object", code=100)
    if kind == "text":
        _length(content.get("body"), 4096, "text.body")
    elif kind == "interactive":
        check_interactive(content)
    elif kind in ("audio", "image", "video", "document", "sticker"):
        if not content.get("id") and not content.get("link"):
            raise GraphError(f"{kind} needs an id or a link", code=100)
    elif kind == "reaction":
        if not content.get("message_id"):
            raise GraphError("reaction needs message_id", code=100)
        emoji = content.get("emoji")
        # An empty emoji removes a reaction; anything else must be one emoji.
        if not isinstance(emoji, str) or (emoji and not is_emoji(emoji)):
            raise GraphError("Parameter value is not valid: reaction emoji must be an emoji")
    elif kind not in ("contacts", "location", "template"):
        raise GraphError(f"Unsupported message type {kind!r}", code=100)


def check_upload(messaging_product: str | None, mime_type: str | None) -> str:
    """The upload's media type, or a GraphError as Meta answers a bad upload."""
    if messaging_product != "whatsapp":
        raise GraphError("messaging_product is required and must be 'whatsapp'", code=100)
    if not mime_type:
        raise GraphError("type is required (the file's MIME type)", code=100)
    base = mime_type.split(";")[0].strip().lower()
    if base not in UPLOAD_TYPES:
        raise GraphError(f"Param file must be a file with one of the types: {base}", code=131053)
    return mime_type
