"""The public webhook: Meta's verification challenge (GET) and signed updates (POST).

POST order matters: signature first (401 without, 403 when wrong, nothing stored), then the
cheap checks (JSON, an object with an `entry` list: 400 otherwise), then the body is stored
durably as received, and only then acknowledged with 200. Splitting into messages, dedupe and
processing happen in the inbox worker, so Meta never waits and a crash never loses a message.
"""

from __future__ import annotations

import hmac
import json
import logging

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pywa_async.utils import HUB_SIG

from shared.app import answered_directly, quiet_access_log
from ws_bot.metrics import WEBHOOK_REFUSED
from ws_bot.worker import BadUpdate, check_update_shape

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
    if (elsewhere := _not_here(request)) is not None:
        return elsewhere
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


_ACK = b'{"status":"ok"}'


def _not_here(request: Request) -> Response | None:
    """A ROLE=worker process serves no webhook: say where it goes rather than take it."""
    if request.app.state.settings.role != "worker":
        return None
    logger.warning("webhook sent to a ROLE=worker process")
    return JSONResponse(
        {"detail": "This ws_bot process runs ROLE=worker: send webhooks to ROLE=webhook or all"},
        404,
    )


@router.post(
    "/webhook",
    summary="Signed WhatsApp updates",
    responses={401: {"description": "No signature"}, 403: {"description": "Wrong signature"}},
)
@router.post("/", include_in_schema=False)
@quiet_access_log
@answered_directly
async def receive(request: Request) -> Response:
    if (elsewhere := _not_here(request)) is not None:
        return elsewhere
    state = request.app.state
    body = await request.body()
    refused = await state.wa.webhook_update_validator(body, request.headers.get(HUB_SIG))
    if refused is not None:
        message, status = refused
        WEBHOOK_REFUSED.labels("signature").inc()
        logger.warning("webhook refused", extra={"status": status})
        return JSONResponse({"detail": f"{message}: invalid or missing {HUB_SIG}"}, status)
    try:
        check_update_shape(json.loads(body))
    except (ValueError, RecursionError, BadUpdate) as exc:  # RecursionError: absurd nesting
        WEBHOOK_REFUSED.labels("body").inc()
        return JSONResponse({"detail": f"Not a WhatsApp webhook update: {exc}"}, 400)
    await state.store.inbox.store_webhook(body)
    if state.worker is not None:  # ROLE=webhook: the workers hear of it (ws_bot.inbox_signal)
        state.worker.wake()
    return Response(_ACK, media_type="application/json")
