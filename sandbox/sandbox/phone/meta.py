"""Meta-shaped webhook payloads, their X-Hub-Signature-256, and their delivery to the bot."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

WABA_ID = "102290129340398"


def sign(body: bytes, app_secret: str) -> str:
    """`sha256=<hex HMAC-SHA256 of the raw body>`, as Meta signs webhooks."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def bsuid(wa_id: str) -> str:
    """A business-scoped user id in Meta's `CC.digits` shape, stable per phone number."""
    digest = int(hashlib.sha256(wa_id.encode()).hexdigest()[:15], 16)
    return f"US.{digest}"


def _envelope(phone_id: str, display_phone: str, **value: Any) -> dict[str, Any]:
    """The `whatsapp_business_account` wrapper every `messages`-field webhook shares."""
    metadata = {"display_phone_number": display_phone, "phone_number_id": phone_id}
    change = {
        "field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": metadata, **value},
    }
    return {"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [change]}]}


def message_update(
    *,
    phone_id: str,
    display_phone: str,
    wa_id: str,
    name: str,
    messages: list[dict[str, Any]],
    bsuid_only: bool = False,
) -> dict[str, Any]:
    """A `messages` webhook carrying one or more messages from one user (known by user id
    only, without the phone number, when `bsuid_only`)."""
    contact = {"profile": {"name": name}, "wa_id": wa_id, "user_id": bsuid(wa_id)}
    if bsuid_only:
        contact.pop("wa_id")
    return _envelope(phone_id, display_phone, contacts=[contact], messages=messages)


REENGAGEMENT_ERROR = {
    "code": 131047,
    "title": "Re-engagement message",
    "message": "Re-engagement message",
    "error_data": {
        "details": "Message failed to send because more than 24 hours have passed since the "
        "customer last replied to this number."
    },
    "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
}


def status_update(
    *,
    phone_id: str,
    display_phone: str,
    wa_id: str,
    message_id: str,
    status: str,
    category: str = "service",
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A `statuses` webhook (sent / delivered / read / failed) about a message the bot sent.

    `sent` and `delivered` carry the conversation and pricing objects as Meta's do; `failed`
    carries `errors` instead.
    """
    entry: dict[str, Any] = {
        "id": message_id,
        "status": status,
        "timestamp": str(int(time.time())),
        "recipient_id": wa_id,
        "recipient_user_id": bsuid(wa_id),
    }
    if status in ("sent", "delivered"):
        conversation_id = hashlib.sha256(f"{wa_id}:{category}".encode()).hexdigest()[:32]
        entry["conversation"] = {"id": conversation_id, "origin": {"type": category}}
        entry["pricing"] = {
            "billable": category != "service",
            "pricing_model": "PMP",
            "category": category,
            "type": "regular",
        }
    if errors:
        entry["errors"] = errors
    return _envelope(phone_id, display_phone, statuses=[entry])


def message(
    wa_id: str, message_id: str, kind: str, content: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        "from": wa_id,
        "from_user_id": bsuid(wa_id),
        "id": message_id,
        "timestamp": str(int(time.time())),
        "type": kind,
        kind: content,
        **extra,
    }


async def deliver(
    client: httpx.AsyncClient, url: str, payload: dict[str, Any], app_secret: str | None
) -> int:
    """POST the payload, signed when a secret is given; the bot's HTTP status (0 if unreachable)."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    if app_secret:
        headers["X-Hub-Signature-256"] = sign(body, app_secret)
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError:
        return 0
    return response.status_code
