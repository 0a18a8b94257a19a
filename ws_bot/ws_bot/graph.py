"""The pywa_async client, pointed at GRAPH_API_URL, and the `Messenger` the bot speaks through.

pywa sets its session's base URL to `https://graph.facebook.com/v…` and sends every Graph API
call relative to it, so reaching a different Graph API (the sandbox phone, a proxy) means moving
that base once, after pywa has set it. Media download URLs are absolute (Meta's CDN, or the
sandbox) and are not touched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import httpx
from pywa_async.client import WhatsApp
from pywa_async.types.callback import Button, Section, SectionList, SectionRow, URLButton
from pywa_async.types.sent_update import SentMessage
from pywa_async.types.templates import TemplateLanguage
from pywa_async.utils import UserIdentifier

from shared.http import RetryPolicy, create_client
from ws_bot import limits
from ws_bot.settings import Settings

logger = logging.getLogger(__name__)


def graph_base_url(pywa_base: httpx.URL, graph_api_url: str) -> httpx.URL:
    """pywa's base URL (Meta's host and the API version) moved to `graph_api_url`, whose path
    becomes a prefix: `https://graph.facebook.com/v23.0` → `http://127.0.0.1:8081/v23.0`."""
    target = httpx.URL(graph_api_url.rstrip("/"))
    return pywa_base.copy_with(
        scheme=target.scheme,
        host=target.host,
        port=target.port,
        path=target.path.rstrip("/") + pywa_base.path,
    )


# Meta answers 429 or a 5xx when it did not carry the call out, so POSTs are retried too:
# without this a busy Graph API silently swallowed replies and receipts. Timeouts are not
# retried for POSTs (the message may have gone out). Exponential pauses, or Meta's Retry-After.
GRAPH_RETRY = RetryPolicy(
    attempts=4,
    backoff_initial=0.3,
    backoff_max=4.0,
    backoff_jitter=0.0,
    statuses=frozenset({429, 500, 502, 503, 504}),
    any_method_on_status=True,
)


def build_whatsapp(settings: Settings) -> tuple[WhatsApp, httpx.AsyncClient]:
    """A pywa_async client without its own server: ws_bot owns the webhook routes.

    Signatures are always validated (app secret required); pywa's in-memory duplicate filter
    is off because ws_bot dedupes durably on message id; replies go to the WA_ID first.
    """
    session = create_client(
        retry=GRAPH_RETRY,
        timeout=httpx.Timeout(20.0, connect=5.0),
    )
    wa = WhatsApp(
        phone_id=settings.meta_phone_id,
        token=settings.meta_access_token.get_secret_value(),
        session=session,
        verify_token=settings.meta_verify_token.get_secret_value() or None,
        app_secret=settings.meta_app_secret.get_secret_value(),
        app_id=settings.meta_app_id or None,
        api_version=settings.graph_api_version,
        validate_updates=True,
        skip_duplicate_updates=False,
        filter_updates=True,
        user_identifier_priority=(
            UserIdentifier.WA_ID,
            UserIdentifier.BSUID,
            UserIdentifier.PARENT_BSUID,
        ),
    )
    session.base_url = graph_base_url(session.base_url, settings.graph_api_url)
    return wa, session


class Messenger:
    """What the bot can say, with WhatsApp's limits applied before anything is sent.

    Sending errors are logged and swallowed where losing one message is better than failing the
    whole conversation step (reactions, read marks); replies raise so the caller knows.
    """

    def __init__(self, wa: WhatsApp) -> None:
        self.wa = wa
        self._reading: dict[str, asyncio.Task[None]] = {}  # wa_id → its read mark in flight

    def start_reading(self, to: str, message_id: str) -> None:
        """Mark the message read and show "typing…", without waiting for the Graph API: the
        answer is being worked out meanwhile (a round trip to Meta saved per message). Whatever
        is sent to `to` next waits for the mark first, because an indicator arriving after the
        answer would show "typing…" for 25 s (WhatsApp hides it at the answer or after 25 s)."""
        task = asyncio.create_task(self._mark_read(message_id, self._reading.get(to)))
        self._reading[to] = task
        task.add_done_callback(lambda done: self._forget(to, done))

    async def _mark_read(self, message_id: str, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await asyncio.wait([before])  # marks keep their order; its errors are its own
        try:
            await self.wa.indicate_typing(message_id=message_id)
        except Exception:
            logger.warning("read mark not sent", exc_info=True)

    def _forget(self, to: str, done: asyncio.Task[None]) -> None:
        if self._reading.get(to) is done:
            del self._reading[to]

    async def _send(self, to: str, send: Coroutine[Any, Any, SentMessage]) -> str:
        """Send once `to`'s read mark (if any is in flight) has gone; the sent message's id."""
        reading = self._reading.get(to)
        try:
            if reading is not None:
                await asyncio.wait([reading])
        except BaseException:
            send.close()  # cancelled while waiting: the message is never sent
            raise
        return str((await send).id)

    async def text(self, to: str, body: str) -> str:
        return await self._send(to, self.wa.send_message(to=to, text=limits.text_body(body)))

    async def template(
        self, to: str, name: str, language: str, components: list[dict[str, Any]]
    ) -> str:
        """A message template (allowed outside the 24-hour window); see templates.py."""
        return await self._send(
            to,
            self.wa.send_template(
                to=to, name=name, language=TemplateLanguage(language), params=components
            ),
        )

    async def buttons(
        self, to: str, body: str, items: list[tuple[str, str]], footer: str | None = None
    ) -> str:
        return await self._send(
            to,
            self.wa.send_message(
                to=to,
                text=limits.interactive_body(body),
                footer=limits.clip(footer, limits.MAX_FOOTER) if footer else None,
                buttons=[
                    Button(title=title, callback_data=data) for title, data in limits.buttons(items)
                ],
            ),
        )

    async def url_button(self, to: str, body: str, title: str, url: str) -> str:
        return await self._send(
            to,
            self.wa.send_message(
                to=to,
                text=limits.interactive_body(body),
                buttons=URLButton(title=limits.button_title(title), url=url),
            ),
        )

    async def choice_list(
        self,
        to: str,
        body: str,
        button: str,
        section: str,
        rows: list[tuple[str, str, str]],
    ) -> str:
        return await self._send(
            to,
            self.wa.send_message(
                to=to,
                text=limits.interactive_body(body),
                buttons=SectionList(
                    button_title=limits.clip(button, limits.MAX_LIST_BUTTON),
                    sections=[
                        Section(
                            title=limits.clip(section, limits.MAX_SECTION_TITLE),
                            rows=[
                                SectionRow(
                                    title=title, callback_data=data, description=desc or None
                                )
                                for data, title, desc in limits.list_rows(rows)
                            ],
                        )
                    ],
                ),
            ),
        )

    async def voice(self, to: str, audio: bytes, mime_type: str = "audio/ogg") -> str | None:
        try:
            return await self._send(to, self.wa.send_voice(to=to, voice=audio, mime_type=mime_type))
        except Exception:
            logger.warning("voice reply not sent", exc_info=True)
            return None

    async def react(self, to: str, message_id: str | None, emoji: str) -> None:
        if not message_id:
            return
        try:
            await self._send(to, self.wa.send_reaction(to=to, emoji=emoji, message_id=message_id))
        except Exception:
            logger.warning("reaction not sent", exc_info=True)

    async def media_bytes(self, media_id: str, max_bytes: int) -> tuple[bytes, str]:
        """Download a media object into memory (never to disk), refusing oversized ones."""
        info: Any = await self.wa.get_media_url(media_id)
        size = int(getattr(info, "file_size", 0) or 0)
        if size > max_bytes:
            raise ValueError("media too large")
        data = await self.wa.get_media_bytes(info.url)
        if len(data) > max_bytes:
            raise ValueError("media too large")
        return data, str(info.mime_type)
