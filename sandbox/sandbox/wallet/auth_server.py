"""The GNAP authorization server: grant requests, continuation, cancel, token rotate/revoke.

Semantics follow Rafiki (see DESIGN.md): non-interactive incoming-payment and quote grants;
interactive outgoing-payment grants; `too_fast` before `wait` seconds (a successful pending poll
restarts the clock); the access token is handed out once; a grant with `finish` cannot be polled.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select, update

from sandbox.wallet.access import INTERACTIVE_TYPES, AccessError, parse_access
from sandbox.wallet.clients import local_wallet_name, wallet_document
from sandbox.wallet.errors import GNAPError
from sandbox.wallet.models import AccessToken, Grant, Wallet
from sandbox.wallet.state import State, WalletState
from sandbox.wallet.tokens import issue, new_token_value, token_json
from sandbox.wallet.verify import check_gnap_signature, require_gnap_signature_headers

router = APIRouter(prefix="/auth", tags=["auth"])


def _json_object(body: bytes) -> dict[str, Any] | None:
    """The request body as an object; None when empty. Non-objects are a 400."""
    if not body.strip():
        return None
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeError) as exc:
        raise GNAPError(400, "invalid_request", "body is not valid JSON") from exc
    if not isinstance(parsed, dict):
        raise GNAPError(400, "invalid_request", "body must be a JSON object")
    return parsed


def _client_url(body: dict[str, Any]) -> str:
    client = body.get("client")
    if isinstance(client, dict) and set(client) == {"walletAddress"}:
        client = client["walletAddress"]
    elif isinstance(client, dict) and "jwk" in client:
        raise GNAPError(400, "invalid_client", "directed identity (jwk) is not supported here")
    if not isinstance(client, str) or not client.startswith(("http://", "https://")):
        raise GNAPError(400, "invalid_request", "client must be the client's wallet address")
    return client


def _gnap_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    parts = header.split(" ")
    return parts[1] if len(parts) == 2 and parts[0] == "GNAP" and parts[1] else None


def _continue_json(state: WalletState, grant: Grant, *, wait: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": {"value": grant.continue_token},
        "uri": f"{state.config.auth_url}/continue/{grant.continue_id}",
    }
    if wait:
        body["wait"] = state.config.wait_seconds
    return body


@router.post("")
@router.post("/", include_in_schema=False)
async def grant_request(request: Request, state: State) -> JSONResponse:
    raw = await request.body()
    body = _json_object(raw)
    if body is None:
        raise GNAPError(400, "invalid_request", "missing grant request body")
    client = _client_url(body)
    await check_gnap_signature(state, request, raw, client)
    token_request = body.get("access_token")
    if not isinstance(token_request, dict):
        raise GNAPError(400, "invalid_request", "access_token.access is required")
    try:
        access = parse_access(token_request.get("access"))
    except AccessError as exc:
        raise GNAPError(400, "invalid_request", str(exc)) from exc
    await _check_identifiers(state, access)
    interactive = any(item["type"] in INTERACTIVE_TYPES for item in access)
    now = time.time()
    grant = Grant(
        id=str(uuid.uuid4()),
        client=client,
        access=access,
        state="approved",
        continue_id=str(uuid.uuid4()),
        continue_token=new_token_value(),
        last_continued_at=now,
        created_at=now,
    )
    if not interactive:
        grant.finalization, grant.state = "issued", "finalized"
        async with state.write() as session:
            session.add(grant)
            await session.flush()
            token = await issue(session, state, grant)
            payload = {
                "access_token": token_json(state, token, grant),
                "continue": _continue_json(state, grant, wait=False),
            }
        return JSONResponse(payload)
    interact = _parse_interact(body.get("interact"))
    if await wallet_document(state, client) is None:
        raise GNAPError(400, "invalid_client", "could not fetch the client's wallet address")
    grant.state = "pending"
    grant.interaction_state = "pending"
    grant.interact_id = str(uuid.uuid4())
    grant.interact_nonce = secrets.token_hex(16)
    finish = interact.get("finish")
    if finish is not None:
        grant.finish_uri, grant.client_nonce = finish["uri"], finish["nonce"]
    async with state.write() as session:
        session.add(grant)
    return JSONResponse(
        {
            "interact": {
                "redirect": f"{state.config.auth_url}/interact/{grant.interact_id}/"
                f"{grant.interact_nonce}",
                "finish": grant.interact_nonce,
            },
            "continue": _continue_json(state, grant, wait=True),
        }
    )


def _parse_interact(interact: Any) -> dict[str, Any]:
    if not isinstance(interact, dict):
        raise GNAPError(400, "invalid_request", "missing required request field 'interact'")
    start = interact.get("start")
    if not isinstance(start, list) or "redirect" not in start:
        raise GNAPError(400, "invalid_request", "interact.start must include 'redirect'")
    finish = interact.get("finish")
    if finish is None:
        return {"start": start}
    if (
        not isinstance(finish, dict)
        or finish.get("method") != "redirect"
        or not isinstance(finish.get("uri"), str)
        or not finish["uri"].startswith(("http://", "https://"))
        or not isinstance(finish.get("nonce"), str)
        or not finish["nonce"]
    ):
        raise GNAPError(
            400, "invalid_request", "interact.finish needs method 'redirect', uri, nonce"
        )
    return {"start": start, "finish": finish}


async def _check_identifiers(state: WalletState, access: list[dict[str, Any]]) -> None:
    """Outgoing-payment grants must name a wallet here, with limits in that wallet's asset."""
    for item in access:
        if item["type"] != "outgoing-payment":
            continue
        name = local_wallet_name(state, item["identifier"])
        async with state.sessions() as session:
            wallet = await session.get(Wallet, name) if name else None
        if wallet is None:
            raise GNAPError(400, "invalid_request", "identifier is not a wallet address here")
        debit = item.get("limits", {}).get("debitAmount")
        if debit and (debit["assetCode"], debit["assetScale"]) != (
            wallet.asset_code,
            wallet.asset_scale,
        ):
            raise GNAPError(
                400, "invalid_request", "limits.debitAmount is not in the wallet's asset"
            )


async def _grant_for_continue(
    state: WalletState, request: Request, continue_id: str, raw: bytes
) -> Grant:
    """Rafiki's continue middleware: signature headers, then the grant, then the signature."""
    require_gnap_signature_headers(state, request, raw)
    token = _gnap_token(request)
    if token is None:
        raise GNAPError(401, "invalid_client", "invalid signature headers")
    async with state.sessions() as session:
        grant = await session.scalar(select(Grant).where(Grant.continue_id == continue_id))
    if grant is None or not secrets.compare_digest(grant.continue_token, token):
        raise GNAPError(401, "invalid_continuation", "invalid grant")
    return grant


@router.post("/continue/{continue_id}")
async def continue_grant(continue_id: str, request: Request, state: State) -> JSONResponse:
    raw = await request.body()
    grant = await _grant_for_continue(state, request, continue_id, raw)
    await check_gnap_signature(state, request, raw, grant.client)
    body = _json_object(raw)
    if not body:
        return await _poll(state, grant)
    interact_ref = body.get("interact_ref")
    if not isinstance(interact_ref, str) or not interact_ref:
        raise GNAPError(401, "invalid_request", "missing interaction reference")
    if (
        grant.interact_ref is None
        or not secrets.compare_digest(grant.interact_ref, interact_ref)
        or grant.finalization in {"rejected", "revoked"}
    ):
        raise GNAPError(404, "invalid_continuation", "grant not found")
    if time.time() < grant.last_continued_at + state.config.wait_seconds:
        raise GNAPError(400, "too_fast", 'continued grant faster than "wait" period')
    return await _issue_once(state, grant, "grant interaction not approved")


async def _poll(state: WalletState, grant: Grant) -> JSONResponse:
    now = time.time()
    if now < grant.last_continued_at + state.config.wait_seconds:
        raise GNAPError(400, "too_fast", 'polled grant faster than "wait" period')
    if grant.finish_uri is not None:
        raise GNAPError(401, "request_denied", "grant cannot be polled")
    if grant.state == "pending":
        async with state.write() as session:
            await session.execute(
                update(Grant).where(Grant.id == grant.id).values(last_continued_at=now)
            )
        return JSONResponse({"continue": _continue_json(state, grant, wait=True)})
    return await _issue_once(state, grant, "grant cannot be continued")


async def _issue_once(state: WalletState, grant: Grant, refusal: str) -> JSONResponse:
    """Hand out the access token exactly once: the conditional update decides the race."""
    async with state.write() as session:
        result = await session.execute(
            update(Grant)
            .where(Grant.id == grant.id, Grant.state == "approved")
            .values(state="finalized", finalization="issued")
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise GNAPError(401, "request_denied", refusal)
        token = await issue(session, state, grant)
        payload = {
            "access_token": token_json(state, token, grant),
            "continue": _continue_json(state, grant, wait=False),
        }
    return JSONResponse(payload)


@router.delete("/continue/{continue_id}")
async def cancel_grant(continue_id: str, request: Request, state: State) -> Response:
    raw = await request.body()
    grant = await _grant_for_continue(state, request, continue_id, raw)
    await check_gnap_signature(state, request, raw, grant.client)
    if grant.finalization == "revoked":
        raise GNAPError(404, "invalid_request", "invalid grant")
    await revoke_grant(state, grant.id)
    return Response(status_code=204)


async def revoke_grant(state: WalletState, grant_id: str) -> None:
    async with state.write() as session:
        await session.execute(
            update(Grant)
            .where(Grant.id == grant_id)
            .values(state="finalized", finalization="revoked")
        )
        await session.execute(
            update(AccessToken).where(AccessToken.grant_id == grant_id).values(revoked=True)
        )


async def _token_for_management(
    state: WalletState, request: Request, management_id: str, raw: bytes
) -> tuple[AccessToken, Grant]:
    require_gnap_signature_headers(state, request, raw)
    async with state.sessions() as session:
        token = await session.scalar(
            select(AccessToken).where(AccessToken.management_id == management_id)
        )
        grant = await session.get(Grant, token.grant_id) if token else None
    presented = _gnap_token(request)
    if (
        token is None
        or grant is None
        or presented is None
        or not secrets.compare_digest(presented, token.value)
    ):
        raise GNAPError(401, "invalid_client", "invalid access token")
    await check_gnap_signature(state, request, raw, grant.client)
    return token, grant


@router.post("/token/{management_id}")
async def rotate_token(management_id: str, request: Request, state: State) -> JSONResponse:
    raw = await request.body()
    token, grant = await _token_for_management(state, request, management_id, raw)
    async with state.write() as session:
        result = await session.execute(
            update(AccessToken)
            .where(AccessToken.id == token.id, AccessToken.revoked.is_(False))
            .values(revoked=True)
        )
        if result.rowcount != 1 or grant.finalization == "revoked":  # type: ignore[attr-defined]
            raise GNAPError(404, "invalid_rotation", "invalid access token")
        fresh = await issue(session, state, grant)
        payload = {"access_token": token_json(state, fresh, grant)}
    return JSONResponse(payload)


@router.delete("/token/{management_id}")
async def revoke_token(management_id: str, request: Request, state: State) -> Response:
    raw = await request.body()
    token, _grant = await _token_for_management(state, request, management_id, raw)
    async with state.write() as session:
        await session.execute(
            update(AccessToken).where(AccessToken.id == token.id).values(revoked=True)
        )
    return Response(status_code=204)
