"""The public webhook: Meta's verification challenge (GET) and signed updates (POST).

POST order matters: signature first (401 without, 403 when wrong, nothing stored), then the
body is split per message and stored durably, and only then acknowledged with 200. Processing
happens in the inbox worker, so Meta never waits and a crash never loses a message.
"""

from __future__ import annotations

import hmac
import json
import logging

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pywa_async.utils import HUB_SIG

from ws_bot.metrics import WEBHOOK_MESSAGES, WEBHOOK_REFUSED
from ws_bot.worker import BadUpdate, split_update

logger = logging.getLogger(__name__)

router = APIRouter(tags=["webhook"])


@router.get("/webhook", summary="Meta webhook verification challenge")
@router.get("/", include_in_schema=False)
async def verify(
    request: Request,
    mode: str | None = Query(default=None, alias="hub.mode"),
    token: str | None = Query(default=None, alias="hub.verify_token"),
    challenge: str | None = Query(default=None, alias="hub.challenge", max_length=256),
) -> Response:
    if mode != "subscribe" or not token or not challenge:
        return PlainTextResponse(
            "Missing hub.mode=subscribe, hub.verify_token or hub.challenge", 400
        )
    # Compared here in constant time (pywa's own check uses ==); an unset token matches nothing.
    expected = request.app.state.settings.meta_verify_token.get_secret_value()
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        logger.warning("webhook verification refused")
        return PlainTextResponse("Forbidden", 403)
    return PlainTextResponse(challenge)


@router.post(
    "/webhook",
    summary="Signed WhatsApp updates",
    responses={401: {"description": "No signature"}, 403: {"description": "Wrong signature"}},
)
@router.post("/", include_in_schema=False)
async def receive(request: Request) -> Response:
    state = request.app.state
    body = await request.body()
    refused = await state.wa.webhook_update_validator(body, request.headers.get(HUB_SIG))
    if refused is not None:
        message, status = refused
        WEBHOOK_REFUSED.labels("signature").inc()
        logger.warning("webhook refused", extra={"status": status})
        return JSONResponse({"detail": f"{message}: invalid or missing {HUB_SIG}"}, status)
    try:
        items, statuses = split_update(json.loads(body))
    except (ValueError, BadUpdate) as exc:
        WEBHOOK_REFUSED.labels("body").inc()
        return JSONResponse({"detail": f"Not a WhatsApp webhook update: {exc}"}, 400)
    added = await state.store.enqueue(items)
    state.statuses.submit(body)  # ws_bot.statuses: a 131047 failure re-sends its template
    WEBHOOK_MESSAGES.labels("new").inc(added)
    WEBHOOK_MESSAGES.labels("duplicate").inc(len(items) - added)
    if added:
        state.worker.wake()
    logger.debug(
        "webhook stored",
        extra={"messages": len(items), "new": added, "statuses": statuses},
    )
    return JSONResponse({"status": "ok"})
