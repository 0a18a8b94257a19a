"""`Incoming`: one user action (message, button tap, list pick), independent of pywa's types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pywa.types.others import MessageType
from pywa_async.types.callback import CallbackButton, CallbackSelection
from pywa_async.types.message import Message

from ws_bot import identity


@dataclass(frozen=True)
class ContactCard:
    name: str
    phones: tuple[str, ...]
    urls: tuple[str, ...]


@dataclass(frozen=True)
class Incoming:
    wa_id: str
    name: str
    message_id: str
    kind: str  # text | audio | image | contacts | button | selection | reaction | other
    text: str = ""
    data: str = ""
    media_id: str | None = None
    mime_type: str | None = None
    voice: bool = False
    contacts: tuple[ContactCard, ...] = field(default_factory=tuple)
    timestamp: float = 0.0  # when the user sent it (WhatsApp's timestamp); 0 when unknown
    # Set by intake.py: sent longer ago than LATE_AFTER_SECONDS, or before a message already
    # handled. Such a message must not start or confirm a payment.
    stale: float = 0.0  # its age in seconds when stale, else 0


def _sent_at(update: Any) -> float:
    when = getattr(update, "timestamp", None)
    return when.timestamp() if when is not None else 0.0


def raw_sent_at(msg: dict[str, Any]) -> float:
    """A raw message's `timestamp` (seconds, sent as a string); 0 when missing or unreadable."""
    try:
        return max(float(msg.get("timestamp") or 0), 0.0)
    except (TypeError, ValueError):
        return 0.0


def _user(update: Any) -> tuple[str, str]:
    """The sender's canonical key (see identity.py) and profile name."""
    user = update.from_user
    return identity.canonical(str(user.wa_id or user.bsuid)), str(user.name or "")


def from_message(msg: Message) -> Incoming:
    wa_id, name = _user(msg)
    base: dict[str, Any] = {
        "wa_id": wa_id,
        "name": name,
        "message_id": msg.id,
        "timestamp": _sent_at(msg),
    }
    if msg.type == MessageType.TEXT and msg.text is not None:
        return Incoming(kind="text", text=msg.text, **base)
    if msg.type == MessageType.AUDIO and msg.audio is not None:
        return Incoming(
            kind="audio",
            media_id=msg.audio.id,
            mime_type=msg.audio.mime_type,
            voice=bool(getattr(msg.audio, "voice", False)),
            **base,
        )
    if msg.type == MessageType.IMAGE and msg.image is not None:
        return Incoming(
            kind="image",
            media_id=msg.image.id,
            mime_type=msg.image.mime_type,
            text=msg.caption or "",
            **base,
        )
    if msg.type == MessageType.CONTACTS and msg.contacts:
        cards = tuple(
            ContactCard(
                name=(c.name.formatted_name if c.name else "") or "",
                phones=tuple(str(p.wa_id or p.phone) for p in c.phones if p.wa_id or p.phone),
                urls=tuple(str(u.url) for u in c.urls if u.url),
            )
            for c in msg.contacts
        )
        return Incoming(kind="contacts", contacts=cards, **base)
    if msg.type == MessageType.REACTION:
        return Incoming(kind="reaction", **base)
    return Incoming(kind="other", **base)


def from_button(cb: CallbackButton[Any]) -> Incoming:
    wa_id, name = _user(cb)
    return Incoming(
        wa_id=wa_id,
        name=name,
        message_id=cb.id,
        kind="button",
        data=str(cb.data),
        text=cb.title,
        timestamp=_sent_at(cb),
    )


def from_selection(sel: CallbackSelection[Any]) -> Incoming:
    wa_id, name = _user(sel)
    return Incoming(
        wa_id=wa_id,
        name=name,
        message_id=sel.id,
        kind="selection",
        data=str(sel.data),
        text=sel.title,
        timestamp=_sent_at(sel),
    )
