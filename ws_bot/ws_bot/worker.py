"""The inbox: split stored webhook bodies into one update per message, then process them.

pywa handles only the first message of a batched update and acks before its handler runs, so
ws_bot owns that part: the webhook stores the signed body durably before answering 200, and this
worker splits it into one row per message (keyed by its WhatsApp id, the dedupe key that
survives restarts and is shared by replicas), then feeds the stored updates one by one to pywa's
dispatcher, whose handlers hand an `Incoming` to the conversation. A body that does not split is
logged and marked `bad`, never dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pywa_async.client import WhatsApp
from pywa_async.handlers import CallbackButtonHandler, CallbackSelectionHandler, MessageHandler
from pywa_async.types.callback import CallbackButton, CallbackSelection
from pywa_async.types.message import Message

from shared.request_id import request_id_scope
from ws_bot import incoming
from ws_bot.conversation import Conversation
from ws_bot.inbox_store import SPLIT_BATCH, InboxItem, InboxMessage
from ws_bot.intake import Intake
from ws_bot.metrics import WEBHOOK_MESSAGES, WEBHOOK_UNSPLITTABLE
from ws_bot.settings import Settings
from ws_bot.store import Store

logger = logging.getLogger(__name__)


PRUNE_EVERY_SECONDS = 3600.0
GATHER_SECONDS = 0.02


class BadUpdate(ValueError):
    """The body is not a WhatsApp webhook update."""


def check_update_shape(body: Any) -> None:
    """The checks cheap enough for the ack: a JSON object with an `entry` list."""
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        raise BadUpdate("not a webhook update")


def split_update(body: Any) -> tuple[list[InboxMessage], list[dict[str, Any]]]:
    """One (message_id, wa_id, single-message update) per message; and the status entries.

    Each single update keeps its entry id and metadata and carries only the contact of its
    sender, with `user_id` filled in (pywa requires it; older payloads have only `wa_id`).
    """
    check_update_shape(body)
    items: list[InboxMessage] = []
    statuses: list[dict[str, Any]] = []
    for entry in body["entry"]:
        if not isinstance(entry, dict):
            raise BadUpdate("entry must be an object")
        for change in entry.get("changes") or []:
            if not isinstance(change, dict) or change.get("field") != "messages":
                continue
            value = change.get("value")
            if not isinstance(value, dict):
                raise BadUpdate("change value must be an object")
            statuses += [s for s in value.get("statuses") or [] if isinstance(s, dict)]
            contacts = [c for c in value.get("contacts") or [] if isinstance(c, dict)]
            rest = {k: v for k, v in value.items() if k not in ("messages", "contacts", "statuses")}
            for msg in value.get("messages") or []:
                if not isinstance(msg, dict) or not msg.get("id"):
                    raise BadUpdate("message without id")
                # A user-id change names the user only inside `system` (no from, no contacts).
                system = msg.get("system")
                system = system if isinstance(system, dict) else {}
                sender = str(
                    msg.get("from") or msg.get("from_user_id") or system.get("user_id") or ""
                )
                contact = next(
                    (
                        c
                        for c in contacts
                        if sender and sender in (c.get("wa_id"), c.get("user_id"))
                    ),
                    contacts[0] if contacts else {"wa_id": sender},
                )
                contact = dict(contact)
                wa_id = str(contact.get("wa_id") or sender or contact.get("user_id") or "")
                if not wa_id:
                    raise BadUpdate("message without sender")
                contact.setdefault("user_id", wa_id)
                single = {
                    "object": body.get("object", "whatsapp_business_account"),
                    "entry": [
                        {
                            "id": entry.get("id"),
                            "changes": [
                                {
                                    "field": "messages",
                                    "value": {**rest, "contacts": [contact], "messages": [msg]},
                                }
                            ],
                        }
                    ],
                }
                payload = json.dumps(single, separators=(",", ":"), ensure_ascii=False).encode()
                items.append(
                    InboxMessage(
                        str(msg["id"])[:256], wa_id[:64], payload, incoming.raw_sent_at(msg)
                    )
                )
    return items, statuses


def register_handlers(wa: WhatsApp, conversation: Conversation) -> None:
    intake = Intake(conversation)  # ws_bot.intake: window, lateness, identities, never silence
    intake.register(wa)

    async def on_message(_: Any, msg: Message) -> None:
        await intake.handle(incoming.from_message(msg))

    async def on_button(_: Any, cb: CallbackButton[Any]) -> None:
        await intake.handle(incoming.from_button(cb))

    async def on_selection(_: Any, sel: CallbackSelection[Any]) -> None:
        await intake.handle(incoming.from_selection(sel))

    wa.add_handlers(
        MessageHandler(on_message),
        CallbackButtonHandler(on_button),
        CallbackSelectionHandler(on_selection),
    )


class InboxWorker:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        wa: WhatsApp,
        apologise: Callable[[str], Awaitable[None]],
        on_statuses: Callable[[list[dict[str, Any]]], None] = lambda _: None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.wa = wa
        self.apologise = apologise
        self.on_statuses = on_statuses  # ws_bot.statuses: a 131047 failure re-sends a template
        self._wake = asyncio.Event()
        self._busy: dict[str, asyncio.Task[None]] = {}
        self._stored = False  # bodies were stored since the last split
        self._slot_freed = False  # a message finished since the last claim
        self._user_waiting = False  # …and its user has another message pending
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Webhook bodies were stored: split them (after a moment, see `_run`)."""
        self._stored = True
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inbox-worker")

    async def stop(self) -> None:
        tasks = [t for t in [self._task, *self._busy.values()] if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        next_prune = 0.0
        split = claim = True
        while True:
            try:
                # Claiming costs a query: only when there may be something to claim (new
                # messages, a freed slot, or the periodic look for expired leases). Most
                # webhooks are status updates, which add no message.
                if (split and await self.split()) or claim:
                    await self.fill()
                if time.time() >= next_prune:
                    next_prune = time.time() + PRUNE_EVERY_SECONDS
                    cutoff = time.time() - self.settings.inbox_retention_seconds
                    await self.store.inbox.prune(cutoff)
            except Exception:
                logger.exception("inbox worker step failed")
            woken = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.5)
                woken = True
            if not self._user_waiting:
                # Acks come in runs: a moment's wait lets one split transaction take the whole
                # run instead of one per ack, which cost more CPU than the acks themselves, and
                # one claim fill the slots freed meanwhile (each claim is a write that the acks
                # queue behind). Only a user already waiting on their next message skips it:
                # the wait was a fifth of each message's turn when a user wrote several.
                await asyncio.sleep(GATHER_SECONDS)
            self._wake.clear()
            split, claim = self._stored or not woken, self._slot_freed or not woken
            self._stored = self._slot_freed = self._user_waiting = False

    async def split(self) -> int:
        """Turn every stored webhook body into inbox rows (or mark it bad), oldest first; how
        many messages were new."""
        new = 0
        while True:
            stored = await self.store.inbox.pending_webhooks()
            if not stored:
                return new
            split: list[tuple[int, list[InboxMessage]]] = []
            bad: list[tuple[int, str]] = []
            statuses: list[dict[str, Any]] = []
            for webhook in stored:
                try:
                    items, found = split_update(json.loads(webhook.body))
                except Exception as exc:
                    # Signed by Meta and acknowledged, yet not splittable: keep it for a person.
                    # Any error, not only BadUpdate: one body left pending would block the rest.
                    logger.error(
                        "webhook body does not split; marked bad",
                        extra={"webhook_id": webhook.id, "reason": str(exc)[:200]},
                    )
                    bad.append((webhook.id, f"{type(exc).__name__}: {exc}"))
                    continue
                split.append((webhook.id, items))
                statuses += found
            filed = await self.store.inbox.file_webhooks(split, bad)
            self.on_statuses(statuses)
            WEBHOOK_MESSAGES.labels("new").inc(filed.new)
            WEBHOOK_MESSAGES.labels("duplicate").inc(filed.duplicate)
            WEBHOOK_UNSPLITTABLE.inc(filed.bad)
            new += filed.new
            if len(stored) < SPLIT_BATCH:
                return new

    async def fill(self) -> None:
        slots = self.settings.worker_concurrency - len(self._busy)
        if slots <= 0:
            return
        items = await self.store.inbox.claim(
            self.settings.replica_id, self.settings.inbox_lease_seconds, slots, set(self._busy)
        )
        for item in items:
            task = asyncio.create_task(self._process(item), name=f"inbox-{item.id}")
            self._busy[item.wa_id] = task
            task.add_done_callback(functools.partial(self._done, item.wa_id))

    def _done(self, wa_id: str, _task: asyncio.Task[None]) -> None:
        self._busy.pop(wa_id, None)
        self._slot_freed = True
        self._wake.set()  # the user's next message may be waiting

    async def _process(self, item: InboxItem) -> None:
        with request_id_scope(f"wa-{item.message_id}"[-128:].replace("=", "")):
            if item.attempts > self.settings.inbox_max_attempts:
                # A message that crashed us repeatedly: park it rather than loop forever.
                logger.error("giving up on a message", extra={"attempts": item.attempts})
                self._user_waiting |= await self.store.inbox.finish(item, "failed")
                with contextlib.suppress(Exception):
                    await self.apologise(item.wa_id)  # never silence, even then
                return
            try:
                await self.wa.webhook_update_handler(item.payload)
            except Exception:
                logger.exception("update processing failed")
                await self.store.inbox.release(item.id)
                return
            self._user_waiting |= await self.store.inbox.finish(item)
