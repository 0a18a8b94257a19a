"""The phone's HTTP app: a fake Graph API for the bot, a JSON API and a chat page for people.

Graph side (what ws_bot calls through GRAPH_API_URL): `POST /{version}/{phone_id}/messages`
(text, interactive, media, reactions, read marks), `POST /{version}/{phone_id}/media`,
`GET /{version}/{media_id}` and the download URL it returns. User side: `/api/...` to act as a
user (every action becomes a signed, Meta-shaped webhook to the bot) and `/` the chat page.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field

from sandbox.phone import faults, message_templates, meta
from sandbox.phone.limits import GraphError, check_message, check_upload
from sandbox.phone.state import ChatMessage, PhoneState, PhoneUser, new_message_id
from shared.http import CookielessClient, default_transport

logger = logging.getLogger(__name__)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
MAX_MEDIA = 16 * 1024 * 1024
PINNED_VERSIONS = ("v24.0",)  # the Graph API versions this fake answers (as ws_bot pins one)
_TO_PUNCTUATION = str.maketrans("", "", "+ -().")


@dataclass
class PhoneConfig:
    webhook_url: str
    app_secret: str
    phone_id: str = "100000000000001"
    display_phone: str = "15550001234"
    access_token: str | None = None  # when set, Graph calls must carry it (Bearer)
    status_webhooks: bool = True
    api_versions: tuple[str, ...] = PINNED_VERSIONS
    templates_dir: Path | None = None  # message template definitions (Meta's template API shape)


class ContactIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    name: str = Field(min_length=1, max_length=256)
    phone: str | None = Field(default=None, max_length=32)
    wa_id: str | None = Field(default=None, alias="waId", max_length=32)
    url: str | None = Field(default=None, max_length=2048)


class UserIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    wa_id: str = Field(alias="waId", pattern=r"^\d{6,15}$")
    name: str = Field(default="", max_length=256)


class WindowIn(BaseModel):
    """Move a user's last message into the past (None: the user never wrote)."""

    model_config = ConfigDict(populate_by_name=True)
    last_inbound_age_seconds: float | None = Field(alias="lastInboundAgeSeconds", ge=0)


class NumberChangeIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    new_wa_id: str = Field(alias="newWaId", pattern=r"^\d{6,15}$")


class ActionIn(BaseModel):
    """What a user does: type, tap a button, pick a row, send media, a contact or a reaction."""

    model_config = ConfigDict(populate_by_name=True)
    type: str = Field(pattern=r"^(text|button|list|audio|image|contacts|reaction|location)$")
    name: str | None = Field(default=None, max_length=256)
    text: str | None = Field(default=None, max_length=8192)
    id: str | None = Field(default=None, max_length=256, description="button/row id")
    title: str | None = Field(default=None, max_length=256, description="button/row title")
    context: str | None = Field(default=None, max_length=256, description="message replied to")
    data: str | None = Field(default=None, description="base64 media bytes")
    mime_type: str | None = Field(default=None, alias="mimeType", max_length=100)
    filename: str | None = Field(default=None, max_length=255)
    voice: bool = True
    bsuid_only: bool = Field(
        default=False, alias="bsuidOnly", description="sender known only by user id (no from)"
    )
    age_seconds: float = Field(
        default=0, alias="ageSeconds", ge=0, le=30 * 24 * 3600, description="a late delivery"
    )
    caption: str | None = Field(default=None, max_length=1024)
    contacts: list[ContactIn] = Field(default_factory=list, max_length=10)
    message_id: str | None = Field(default=None, alias="messageId", max_length=256)
    emoji: str | None = Field(default=None, max_length=16)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


def _graph_error(exc: GraphError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status)


def create_app(config: PhoneConfig) -> FastAPI:
    # Webhooks go out a few at a time, each waiting its turn for as long as it takes, as Meta
    # queues them: one connection per status in flight grew the pool to dozens. The transport is
    # ws_bot's (shared.http1_transport): with httpcore's the phone spent 6.3–7.0 ms of CPU per
    # message in e2e_throughput, with this one 2.6–3.3, and it shares the benchmark's two cores.
    # Cookieless, as ws_bot's clients are: ws_bot sets none, and reading answers for them was
    # 15% of each call's instructions.
    client = CookielessClient(
        timeout=httpx.Timeout(15.0),
        transport=default_transport(max_connections=8),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await client.aclose()

    app = FastAPI(title="paguito sandbox phone", docs_url="/docs", lifespan=lifespan)
    faults.install(app)  # Graph API 429/5xx on demand: POST /_faults (see faults.py)
    state = PhoneState()
    templates = message_templates.load(config.templates_dir)
    app.state.phone = state
    app.state.config = config
    background: set[asyncio.Task[Any]] = set()

    def authorized(request: Request) -> bool:
        if not config.access_token:
            return True
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {config.access_token}".encode())

    async def send_statuses(wa_id: str, message_id: str, *statuses: str, **extra: Any) -> None:
        """Status webhooks in Meta's order (sent, then delivered; or failed), one per POST."""
        for status in statuses:
            payload = meta.status_update(
                phone_id=config.phone_id,
                display_phone=config.display_phone,
                wa_id=wa_id,
                message_id=message_id,
                status=status,
                **extra,
            )
            await meta.deliver(client, config.webhook_url, payload, config.app_secret)

    def read_by(user: PhoneUser) -> None:
        """The user opened the chat to answer: the bot's messages get `read` statuses."""
        for m in state.conversation(user.wa_id):
            if m.direction == "out" and not m.seen:
                m.seen = True
                if config.status_webhooks:
                    later(send_statuses(user.wa_id, m.id, "read"))

    def graph_version(version: str) -> None:
        if version not in config.api_versions:
            pinned = ", ".join(config.api_versions)
            raise GraphError(
                f"Unsupported Graph API version {version}; this app is pinned to {pinned}",
                code=2635,
                subcode=0,
            )

    def later(coro: Any) -> None:
        task = asyncio.create_task(coro)
        background.add(task)
        task.add_done_callback(background.discard)

    # ------------------------------------------------------------------ health, page

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": "sandbox-phone"}

    @app.get("/", response_class=HTMLResponse)
    async def page(request: Request) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(
            request, "chat.html", {"phone_id": config.phone_id, "display": config.display_phone}
        )

    # ------------------------------------------------------------------ user-side JSON API

    @app.get("/api/users")
    async def list_users() -> list[dict[str, str]]:
        return [{"waId": u.wa_id, "name": u.name} for u in state.users.values()]

    @app.post("/api/users", status_code=201)
    async def add_user(body: UserIn) -> dict[str, str]:
        user = state.user(body.wa_id, body.name or None)
        return {"waId": user.wa_id, "name": user.name}

    @app.get("/api/users/{wa_id}/messages")
    async def conversation(wa_id: str) -> list[dict[str, Any]]:
        return [m.to_json() for m in state.conversation(wa_id)]

    @app.get("/api/users/{wa_id}/typing")
    async def typing(wa_id: str) -> dict[str, bool]:
        """Whether the bot shows "typing…" (as WhatsApp does, for at most 25 seconds)."""
        since = state.typing.get(wa_id)
        return {"typing": since is not None and time.time() - since < 25}

    @app.post("/api/users/{wa_id}/window")
    async def set_window(wa_id: str, body: WindowIn) -> dict[str, Any]:
        """Test/demo control: pretend the user last wrote that long ago (or never)."""
        user = state.user(wa_id)
        age = body.last_inbound_age_seconds
        user.last_inbound = None if age is None else time.time() - age
        return {"waId": wa_id, "windowOpen": user.window_open(time.time())}

    @app.get("/api/failed")
    async def failed_sends() -> list[dict[str, Any]]:
        """Messages the API accepted and then reported `failed` (e.g. 131047, window closed)."""
        return state.failed

    @app.get("/api/messages")
    async def all_messages() -> list[dict[str, Any]]:
        return [m.to_json() for m in state.messages]

    @app.get("/api/media/{media_id}")
    async def media_for_page(media_id: str) -> Response:
        media = state.media.get(media_id)
        if media is None:
            return JSONResponse({"detail": "Unknown media id."}, 404)
        return Response(media.data, media_type=media.mime_type)

    def find_choice(wa_id: str, kind: str, body: ActionIn) -> tuple[str, str, str | None]:
        """(id, title, bot message id) of the button or row the user picks, newest first."""
        for m in reversed(state.conversation(wa_id)):
            if m.direction != "out" or m.type != "interactive":
                continue
            if body.context and m.id != body.context:
                continue
            interactive = m.body.get("interactive", {})
            action = interactive.get("action", {})
            if kind == "button" and interactive.get("type") == "button":
                buttons = action.get("buttons", [])
                options = [(b["reply"]["id"], b["reply"]["title"]) for b in buttons]
            elif kind == "list" and interactive.get("type") == "list":
                options = [
                    (r["id"], r["title"])
                    for s in action.get("sections", [])
                    for r in s.get("rows", [])
                ]
            else:
                continue
            for option_id, title in options:
                if body.id == option_id or (body.id is None and body.title == title):
                    return option_id, title, m.id
        if body.id and body.title:
            return body.id, body.title, body.context
        raise GraphError(f"No {kind} {body.id or body.title!r} in this chat", code=100, status=404)

    def build(wa_id: str, body: ActionIn, message_id: str) -> tuple[str, dict[str, Any]]:
        """The Meta `messages[]` object for the action, and what the chat page shows."""
        if body.type == "text":
            if not body.text:
                raise GraphError("text is required", code=100, status=422)
            return "text", meta.message(wa_id, message_id, "text", {"body": body.text})
        if body.type in ("button", "list"):
            option_id, title, context = find_choice(wa_id, body.type, body)
            reply_kind = "button_reply" if body.type == "button" else "list_reply"
            extra = {"context": {"from": config.display_phone, "id": context}} if context else {}
            reply = {"type": reply_kind, reply_kind: {"id": option_id, "title": title}}
            return "interactive", meta.message(wa_id, message_id, "interactive", reply, **extra)
        if body.type in ("audio", "image"):
            try:
                data = base64.b64decode(body.data or "", validate=True)
            except (binascii.Error, ValueError) as exc:
                raise GraphError("data must be base64", code=100, status=422) from exc
            if not data or len(data) > MAX_MEDIA:
                raise GraphError("media missing or too large", code=100, status=422)
            default = "audio/ogg; codecs=opus" if body.type == "audio" else "image/jpeg"
            media = state.store_media(data, body.mime_type or default, body.filename)
            content: dict[str, Any] = {
                "id": media.id,
                "mime_type": media.mime_type,
                "sha256": media.sha256,
            }
            if body.type == "audio":
                content["voice"] = body.voice
            elif body.caption:
                content["caption"] = body.caption
            return body.type, meta.message(wa_id, message_id, body.type, content)
        if body.type == "contacts":
            if not body.contacts:
                raise GraphError("contacts is required", code=100, status=422)
            cards = []
            for c in body.contacts:
                card: dict[str, Any] = {"name": {"formatted_name": c.name, "first_name": c.name}}
                if c.phone or c.wa_id:
                    phone: dict[str, Any] = {"phone": c.phone or f"+{c.wa_id}", "type": "CELL"}
                    if c.wa_id:
                        phone["wa_id"] = c.wa_id
                    card["phones"] = [phone]
                if c.url:
                    card["urls"] = [{"url": c.url, "type": "WORK"}]
                cards.append(card)
            msg = meta.message(wa_id, message_id, "contacts", {})
            msg.pop("contacts")
            msg["contacts"] = cards
            return "contacts", msg
        if body.type == "location":
            place = {"latitude": body.latitude or 19.4326, "longitude": body.longitude or -99.1332}
            return "location", meta.message(wa_id, message_id, "location", place)
        # reaction
        if not body.message_id or not body.emoji:
            raise GraphError("messageId and emoji are required", code=100, status=422)
        return "reaction", meta.message(
            wa_id, message_id, "reaction", {"message_id": body.message_id, "emoji": body.emoji}
        )

    @app.post("/api/users/{wa_id}/messages")
    async def act(wa_id: str, body: ActionIn) -> JSONResponse:
        if not wa_id.isdigit() or not 6 <= len(wa_id) <= 15:
            return JSONResponse({"detail": "wa_id must be 6 to 15 digits."}, 422)
        user = state.user(wa_id, body.name)
        message_id = new_message_id()
        try:
            kind, msg = build(wa_id, body, message_id)
        except GraphError as exc:
            return JSONResponse({"detail": str(exc)}, exc.status)
        sent_at = time.time() - body.age_seconds
        msg["timestamp"] = str(int(sent_at))
        if body.bsuid_only:
            msg.pop("from", None)
        # The window runs from the user's message, even one delivered late.
        user.last_inbound = max(user.last_inbound or sent_at, sent_at)
        read_by(user)
        if kind == "reaction":
            target = state.by_id.get(body.message_id or "")
            if target is not None:
                target.reactions["user"] = body.emoji or ""
        stored = state.add(ChatMessage(message_id, wa_id, "in", kind, msg, timestamp=sent_at))
        return await send_in(user, stored, bsuid_only=body.bsuid_only)

    async def send_in(
        user: PhoneUser, stored: ChatMessage, bsuid_only: bool = False
    ) -> JSONResponse:
        """Deliver the user's message to the bot as a signed webhook; what the page shows."""
        payload = meta.message_update(
            phone_id=config.phone_id,
            display_phone=config.display_phone,
            wa_id=user.wa_id,
            name=user.name,
            messages=[stored.body],
            bsuid_only=bsuid_only,
        )
        stored.webhook_status = await meta.deliver(
            client, config.webhook_url, payload, config.app_secret
        )
        return JSONResponse(stored.to_json(), 200 if stored.webhook_status else 502)

    @app.post("/api/users/{wa_id}/number")
    async def change_number(wa_id: str, body: NumberChangeIn) -> JSONResponse:
        """The user moves to a new number: a `user_changed_number` system message, as Meta
        sends it (from the old number), and the chat continues on the new one."""
        old = state.users.get(wa_id)
        if old is None:
            return JSONResponse({"detail": "Unknown user."}, 404)
        new = state.user(body.new_wa_id, old.name)
        new.last_inbound = old.last_inbound
        message_id = new_message_id()
        system = {
            "body": f"{old.name} changed from {wa_id} to {body.new_wa_id}",
            "wa_id": body.new_wa_id,
            "type": "user_changed_number",
        }
        msg = meta.message(wa_id, message_id, "system", system)
        msg.pop("from_user_id", None)
        stored = state.add(ChatMessage(message_id, wa_id, "in", "system", msg))
        return await send_in(old, stored)

    # ------------------------------------------------------------------ Graph API (the bot's side)

    # Declared before `/{version}/{media_id}`, which would otherwise swallow it.
    @app.get("/download/{media_id}", name="download_media")
    async def download_media(media_id: str, request: Request) -> Response:
        if not authorized(request):
            return _graph_error(GraphError("Invalid OAuth access token", code=190, status=401))
        media = state.media.get(media_id)
        if media is None:
            return JSONResponse({"detail": "Unknown media id."}, 404)
        return Response(media.data, media_type=media.mime_type)

    @app.post("/{version}/{phone_id}/messages")
    async def graph_messages(version: str, phone_id: str, request: Request) -> JSONResponse:
        if not authorized(request):
            return _graph_error(GraphError("Invalid OAuth access token", code=190, status=401))
        try:
            graph_version(version)
        except GraphError as exc:
            return _graph_error(exc)
        if phone_id != config.phone_id:
            return _graph_error(GraphError(f"Unknown phone number id {phone_id}", code=100))
        try:
            payload = await request.json()
        except ValueError:
            return _graph_error(GraphError("Body must be JSON", code=100))
        if not isinstance(payload, dict):
            return _graph_error(GraphError("Body must be an object", code=100))
        state.graph_calls.append(payload)
        if payload.get("status") == "read":
            target = state.by_id.get(str(payload.get("message_id")))
            if target is None:
                return _graph_error(GraphError("Unknown message id", code=100))
            for m in state.conversation(target.wa_id):
                if m.direction == "in" and m.timestamp <= target.timestamp:
                    m.read = True
            if payload.get("typing_indicator"):
                state.typing[target.wa_id] = time.time()
            return JSONResponse({"success": True})
        try:
            check_message(payload)
            user, contact = recipient_of(payload)
            kind = str(payload.get("type", "text"))
            rendered = None
            if kind == "template":
                rendered = message_templates.render_send(templates, payload["template"])
        except GraphError as exc:
            return _graph_error(exc)
        message_id = new_message_id()
        to = user.wa_id
        answer = {"messaging_product": "whatsapp", "contacts": [contact]}
        answer["messages"] = [{"id": message_id}]
        if kind != "template" and not user.window_open(time.time()):
            # Meta accepts the call and reports the failure later, in a status webhook.
            state.failed.append({"id": message_id, "waId": to, "code": 131047, "body": payload})
            if config.status_webhooks:
                later(send_statuses(to, message_id, "failed", errors=[meta.REENGAGEMENT_ERROR]))
            return JSONResponse(answer)
        if kind == "reaction":
            target = state.by_id.get(payload["reaction"]["message_id"])
            if target is not None:
                target.reactions["bot"] = payload["reaction"].get("emoji", "")
        else:
            state.add(ChatMessage(message_id, to, "out", kind, payload, rendered=rendered))
            state.typing.pop(to, None)
        if config.status_webhooks:
            category = "utility" if kind == "template" else "service"
            later(send_statuses(to, message_id, "sent", "delivered", category=category))
        return JSONResponse(answer)

    def recipient_of(payload: dict[str, Any]) -> tuple[PhoneUser, dict[str, str]]:
        """The user a send is for: `to` (a phone number, "+" and spaces allowed) or
        `recipient` (a business-scoped user id); and the `contacts` entry Meta answers."""
        if payload.get("recipient") and not payload.get("to"):
            user_id = str(payload["recipient"])
            known = state.by_bsuid(user_id)
            if known is None:
                raise GraphError(f"Invalid parameter: unknown recipient {user_id}", code=100)
            return known, {"input": user_id, "user_id": user_id, "wa_id": known.wa_id}
        given = str(payload.get("to") or "")
        digits = given.translate(_TO_PUNCTUATION)
        if not digits.isdigit() or not 6 <= len(digits) <= 15:
            raise GraphError("Recipient must be a phone number (wa_id) or a recipient", code=100)
        user = state.same_number(digits) or state.user(digits)
        return user, {"input": given, "wa_id": user.wa_id}

    @app.post("/{version}/{phone_id}/media")
    async def graph_upload(
        version: str,
        phone_id: str,
        request: Request,
        file: Annotated[UploadFile, File()],
        messaging_product: Annotated[str | None, Form()] = None,
        type: Annotated[str | None, Form()] = None,
    ) -> JSONResponse:
        if not authorized(request):
            return _graph_error(GraphError("Invalid OAuth access token", code=190, status=401))
        try:
            graph_version(version)
            mime = check_upload(messaging_product, type)
        except GraphError as exc:
            return _graph_error(exc)
        data = await file.read()
        if not data or len(data) > MAX_MEDIA:
            return _graph_error(GraphError("Media missing or too large", code=131053))
        media = state.store_media(data, mime, file.filename)
        return JSONResponse({"id": media.id})

    @app.get("/{version}/{media_id}")
    async def graph_media_url(version: str, media_id: str, request: Request) -> JSONResponse:
        if not authorized(request):
            return _graph_error(GraphError("Invalid OAuth access token", code=190, status=401))
        try:
            graph_version(version)
        except GraphError as exc:
            return _graph_error(exc)
        media = state.media.get(media_id)
        if media is None:
            return _graph_error(GraphError("Unknown media id", code=100, status=404))
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": str(request.url_for("download_media", media_id=media_id)),
                "mime_type": media.mime_type,
                "sha256": media.sha256,
                "file_size": len(media.data),
                "id": media.id,
            }
        )

    @app.delete("/{version}/{media_id}")
    async def graph_delete_media(version: str, media_id: str, request: Request) -> JSONResponse:
        if not authorized(request):
            return _graph_error(GraphError("Invalid OAuth access token", code=190, status=401))
        try:
            graph_version(version)
        except GraphError as exc:
            return _graph_error(exc)
        state.media.pop(media_id, None)
        return JSONResponse({"success": True})

    return app
