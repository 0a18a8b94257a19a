"""Between pywa and the conversation: what every user update goes through first.

- records when the user last wrote (the 24-hour window, window.py);
- marks late or out-of-order messages (lateness.py); a stale Confirm/Cancel tap is answered
  here and never reaches the payment dialogue;
- number changes move the user (identity.py, store.users.move); identity changes cancel the
  payment waiting for confirmation;
- never silence: a person's message that no handler took (pywa could not parse it: edits,
  deletes, flow replies, unknown types) still gets the "I can read…" answer, built from the
  raw payload.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from pywa.types.base_update import RawUpdate
from pywa_async.client import WhatsApp
from pywa_async.handlers import IdentityChangeHandler, PhoneNumberChangeHandler, RawUpdateHandler
from pywa_async.types.system import IdentityChange, PhoneNumberChange, SystemType

from ws_bot import draft_store, identity, lateness
from ws_bot import store as st
from ws_bot.conversation import Conversation
from ws_bot.incoming import Incoming, raw_sent_at
from ws_bot.link_store import LinkStore
from ws_bot.texts import t

logger = logging.getLogger(__name__)

# Message types a person sends that need no answer (a reaction is an emoji on our message).
_QUIET_TYPES = frozenset({"reaction"})


class Intake:
    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.store: st.Store = conversation.ctx.store
        self.say = conversation.ctx.say
        self.late_after = float(conversation.ctx.settings.late_after_seconds)
        self._taken: set[str] = set()  # message ids a handler took, until the raw pass

    def register(self, wa: WhatsApp) -> None:
        """The handlers beside the message ones: number and identity changes, then the raw
        pass pywa runs last for every update (never silence)."""
        wa.add_handlers(
            PhoneNumberChangeHandler(self._number_changed),
            IdentityChangeHandler(self._identity_changed),
            RawUpdateHandler(self._unanswered),
        )

    async def handle(self, inc: Incoming) -> None:
        self._taken.add(inc.message_id)
        now = time.time()
        sent_at = inc.timestamp or now
        newest = await self.store.users.record_inbound(inc.wa_id, sent_at)
        if lateness.is_late(sent_at, now, self.late_after) or lateness.is_superseded(
            sent_at, newest
        ):
            inc = dataclasses.replace(inc, stale=max(now - sent_at, 1.0))
            logger.info("late or out-of-order message", extra={"age": round(inc.stale)})
            if lateness.acts_on_payment(inc):
                user = await self.store.users.get(inc.wa_id)
                await lateness.refuse(self.say, user.language if user else None, inc)
                return
        await self.conversation.handle(inc)

    async def _number_changed(self, _: Any, change: PhoneNumberChange) -> None:
        self._taken.add(change.id)
        if change.sys_type == SystemType.USER_CHANGED_USER_ID:
            await self._user_id_changed(_system_of(change.raw))
            return
        old = identity.canonical(change.old_wa_id)
        new = identity.canonical(change.new_wa_id or change.new_user_id or "")
        if not new or not await self.store.users.move(old, new):
            logger.info("number change for an unknown user", extra={"moved": False})
            return
        await LinkStore(self.store).follow_number(old, new)
        logger.info("user changed number; moved to the new one")
        user = await self.store.users.get(new)
        await self.store.users.record_inbound(new, change.timestamp.timestamp())
        await self.say.text(new, t(user.language if user else None, "number_changed"))

    async def _user_id_changed(self, system: dict[str, Any]) -> None:
        """Meta re-issued the user's business-scoped id: a user known only by it moves."""
        old, new = system.get("previous_user_id"), system.get("user_id")
        if isinstance(old, str) and isinstance(new, str):
            old, new = identity.canonical(old), identity.canonical(new)
            moved = await self.store.users.move(old, new)
            if moved:
                await LinkStore(self.store).follow_number(old, new)
            logger.info("user id changed", extra={"moved": moved})

    async def _identity_changed(self, _: Any, change: IdentityChange) -> None:
        """Meta: the account behind the number changed (new phone, reinstall, maybe a SIM
        swap). A payment waiting for confirmation is cancelled rather than confirmed by it."""
        self._taken.add(change.id)
        wa_id = identity.canonical(str(change.from_user.wa_id or change.from_user.bsuid))
        draft = await self.store.drafts.current(wa_id)
        logger.warning("customer identity changed", extra={"open_draft": draft is not None})
        if draft is None or not await self.store.drafts.update(
            draft.id, draft_store.OPEN_DRAFT, status=draft_store.CANCELLED
        ):
            return
        if draft.payment_id:  # quoted at op_api: cancel it there too
            await self.conversation.ctx.op.cancel_payment(draft.payment_id)
        user = await self.store.users.get(wa_id)
        await self.say.text(wa_id, t(user.language if user else None, "identity_changed"))

    async def _unanswered(self, _: Any, raw: RawUpdate) -> None:
        for msg, contact in _messages(raw):
            message_id = str(msg.get("id") or "")
            if message_id in self._taken:
                self._taken.discard(message_id)
                continue
            kind = msg.get("type")
            if kind == "system":  # not from a person; pywa could not read it
                system = _object(msg, "system")
                if system.get("type") == SystemType.USER_CHANGED_USER_ID:
                    await self._user_id_changed(system)
                continue
            if kind in _QUIET_TYPES:
                continue
            inc = from_raw(msg, contact)
            if inc is None:
                continue
            logger.info("message no handler took", extra={"type": str(kind)[:32]})
            if kind == "edit" and await self._edited_payment(inc, msg):
                continue
            await self.handle(inc)
            self._taken.discard(message_id)

    async def _edited_payment(self, inc: Incoming, msg: dict[str, Any]) -> bool:
        """An edit of the message that started the pending payment: the payment keeps what
        was quoted; the user is told how to change it (True: answered)."""
        edit = _object(msg, "edit")
        original = edit.get("original_message_id")
        draft = await self.store.drafts.current(inc.wa_id)
        if not original or draft is None or draft.source_message_id != original:
            return False
        await self.store.users.record_inbound(inc.wa_id, inc.timestamp or time.time())
        user = await self.store.users.get(inc.wa_id)
        await self.say.text(inc.wa_id, t(user.language if user else None, "edited_payment"))
        return True


def _object(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _system_of(raw: Any) -> dict[str, Any]:
    return next((_object(msg, "system") for msg, _ in _messages(raw)), {})


def _messages(raw: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(message, its sender's contact) for each message in the update."""
    found = []
    for entry in raw.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue
            contacts = [c for c in value.get("contacts") or [] if isinstance(c, dict)]
            for msg in value.get("messages") or []:
                if isinstance(msg, dict):
                    found.append((msg, contacts[0] if contacts else {}))
    return found


def _what(msg: dict[str, Any]) -> tuple[str, str, str]:
    """(kind, text, data) of a raw message ws_bot can still act on; else ("other", "", "")."""
    if msg.get("type") == "text":
        body = _object(msg, "text").get("body")
        if isinstance(body, str) and body.strip():
            return "text", body, ""
    interactive = _object(msg, "interactive")
    for reply_kind, kind in (("button_reply", "button"), ("list_reply", "selection")):
        reply = _object(interactive, reply_kind)
        if interactive.get("type") == reply_kind and isinstance(reply.get("id"), str):
            return kind, str(reply.get("title") or ""), reply["id"]
    return "other", "", ""


def from_raw(msg: dict[str, Any], contact: dict[str, Any]) -> Incoming | None:
    """An `Incoming` straight from the payload: texts, button taps and list picks keep their
    meaning (pywa refuses some valid ones, e.g. from senders known only by user id); anything
    else is "other"."""
    sender = msg.get("from") or msg.get("from_user_id") or contact.get("wa_id")
    sender = sender or contact.get("user_id")
    if not sender or not msg.get("id"):
        return None
    kind, text, data = _what(msg)
    return Incoming(
        wa_id=identity.canonical(str(sender)),
        name=str(_object(contact, "profile").get("name") or ""),
        message_id=str(msg["id"]),
        kind=kind,
        text=text,
        data=data,
        timestamp=raw_sent_at(msg),
    )
