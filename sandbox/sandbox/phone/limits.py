"""The Cloud API's own checks on outgoing messages: the fake refuses what Meta would refuse."""

from __future__ import annotations

from typing import Any


class GraphError(Exception):
    def __init__(self, message: str, code: int = 131009, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": f"(#{self.code}) {self}",
                "type": "OAuthException",
                "code": self.code,
                "fbtrace_id": "sandbox",
            }
        }


def _length(value: Any, limit: int, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise GraphError(f"Parameter value is not valid: {what} is required")
    if len(value) > limit:
        raise GraphError(f"Parameter value is not valid: {what} is longer than {limit} characters")


def check_interactive(interactive: dict[str, Any]) -> None:
    kind = interactive.get("type")
    body = interactive.get("body") or {}
    _length(body.get("text"), 1024, "body.text")
    action = interactive.get("action") or {}
    if kind == "button":
        buttons = action.get("buttons") or []
        if not 1 <= len(buttons) <= 3:
            raise GraphError("Parameter value is not valid: 1 to 3 buttons allowed")
        for button in buttons:
            reply = button.get("reply") or {}
            _length(reply.get("title"), 20, "button title")
            _length(reply.get("id"), 256, "button id")
    elif kind == "list":
        _length(action.get("button"), 20, "list button")
        sections = action.get("sections") or []
        rows = [row for section in sections for row in section.get("rows") or []]
        if not 1 <= len(rows) <= 10:
            raise GraphError("Parameter value is not valid: 1 to 10 list rows allowed")
        for row in rows:
            _length(row.get("title"), 24, "row title")
            _length(row.get("id"), 200, "row id")
            if len(row.get("description") or "") > 72:
                raise GraphError("Parameter value is not valid: row description over 72 characters")
    elif kind == "cta_url":
        params = action.get("parameters") or {}
        _length(params.get("display_text"), 20, "display_text")
        _length(params.get("url"), 2000, "url")
    else:
        raise GraphError(f"Unsupported interactive type {kind!r}", code=100)
    header = interactive.get("header")
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
    elif kind not in ("contacts", "location", "template"):
        raise GraphError(f"Unsupported message type {kind!r}", code=100)
