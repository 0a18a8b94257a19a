"""What the phone remembers: users, conversations (both directions) and media, in memory."""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from sandbox.phone.meta import bsuid

_counter = itertools.count(1)


def new_message_id() -> str:
    # Meta ids look like wamid.<base64>; uniqueness is what matters here.
    return f"wamid.{secrets.token_hex(12)}{next(_counter)}"


def new_media_id() -> str:
    return str(10**15 + secrets.randbelow(10**15))


@dataclass
class Media:
    id: str
    data: bytes
    mime_type: str
    filename: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class ChatMessage:
    """One message in a conversation. `direction` is 'in' (user → bot) or 'out' (bot → user)."""

    id: str
    wa_id: str
    direction: str
    type: str
    body: dict[str, Any]
    timestamp: float = field(default_factory=time.time)
    reactions: dict[str, str] = field(default_factory=dict)  # who ('user'|'bot') → emoji
    read: bool = False  # an inbound message the bot marked read
    seen: bool = False  # an outbound message the user has read (a `read` status was sent)
    webhook_status: int | None = None
    rendered: str | None = None  # a template's text as the user sees it

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "waId": self.wa_id,
            "direction": self.direction,
            "type": self.type,
            "body": self.body,
            "timestamp": self.timestamp,
            "reactions": self.reactions,
            "read": self.read,
            "webhookStatus": self.webhook_status,
            "rendered": self.rendered,
        }


WINDOW_SECONDS = 24 * 3600.0  # Meta's customer-service window


@dataclass
class PhoneUser:
    wa_id: str
    name: str
    last_inbound: float | None = None  # when the user last wrote to the business

    def window_open(self, now: float) -> bool:
        """Free-form messages reach a user only within 24 h of their last message."""
        return self.last_inbound is not None and now - self.last_inbound <= WINDOW_SECONDS


class PhoneState:
    def __init__(self) -> None:
        self.users: dict[str, PhoneUser] = {}
        self.messages: list[ChatMessage] = []
        self.by_id: dict[str, ChatMessage] = {}
        self.media: dict[str, Media] = {}
        self.graph_calls: list[dict[str, Any]] = []
        self.typing: dict[str, float] = {}  # wa_id → when the bot started "typing…"
        self.failed: list[dict[str, Any]] = []  # sends Meta accepted and then failed (131047)

    def user(self, wa_id: str, name: str | None = None) -> PhoneUser:
        existing = self.users.get(wa_id)
        if existing is None:
            existing = self.users[wa_id] = PhoneUser(wa_id, name or f"+{wa_id}")
        elif name:
            existing.name = name
        return existing

    def same_number(self, digits: str) -> PhoneUser | None:
        """The user a number reaches, as WhatsApp matches Mexico's 52/521 and Argentina's
        54/549 forms of one mobile number."""
        forms = [digits]
        if digits.startswith("521") and len(digits) == 13:
            forms.append("52" + digits[3:])
        elif digits.startswith("52") and len(digits) == 12:
            forms.append("521" + digits[2:])
        elif digits.startswith("549") and len(digits) == 13:
            forms.append("54" + digits[3:])
        elif digits.startswith("54") and len(digits) == 12:
            forms.append("549" + digits[2:])
        return next((self.users[f] for f in forms if f in self.users), None)

    def by_bsuid(self, user_id: str) -> PhoneUser | None:
        return next((u for u in self.users.values() if bsuid(u.wa_id) == user_id), None)

    def add(self, message: ChatMessage) -> ChatMessage:
        self.messages.append(message)
        self.by_id[message.id] = message
        return message

    def conversation(self, wa_id: str) -> list[ChatMessage]:
        return [m for m in self.messages if m.wa_id == wa_id]

    def store_media(self, data: bytes, mime_type: str, filename: str | None = None) -> Media:
        media = Media(new_media_id(), data, mime_type, filename)
        self.media[media.id] = media
        return media
