"""What every resource-server route shares: token checks, body parsing, JSON shapes."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from sandbox.wallet.access import covering_item
from sandbox.wallet.clients import local_wallet_name
from sandbox.wallet.errors import RSError
from sandbox.wallet.models import Grant, IncomingPayment, OutgoingPayment, Quote, Wallet
from sandbox.wallet.state import WalletState
from sandbox.wallet.timeutil import iso
from sandbox.wallet.tokens import active_token
from sandbox.wallet.verify import check_rs_signature


@dataclass(frozen=True)
class Authorized:
    grant: Grant
    item: dict[str, Any]
    all_clients: bool  # read-all / list-all: resources of any client are visible

    @property
    def client(self) -> str:
        return self.grant.client

    def may_see(self, resource_client: str | None) -> bool:
        return self.all_clients or resource_client in (None, self.grant.client)


def json_body(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body) if body.strip() else None
    except (ValueError, UnicodeError) as exc:
        raise RSError(400, "body is not valid JSON") from exc
    if not isinstance(parsed, dict):
        raise RSError(400, "body must be a JSON object")
    return parsed


async def authorize(
    state: WalletState,
    request: Request,
    body: bytes,
    *,
    kind: str,
    action: str,
    wallet_url: str | None,
) -> Authorized:
    """Rafiki's order: the GNAP token (401 malformed, 403 inactive or insufficient), then the
    request signature against the keys of the client the token was issued to (401)."""
    parts = request.headers.get("authorization", "").split(" ")
    if len(parts) != 2 or parts[0] != "GNAP" or not parts[1]:
        raise RSError(401, "Missing or invalid authorization header value")
    async with state.sessions() as session:
        found = await active_token(session, parts[1])
    if found is None:
        raise RSError(403, "Inactive Token")
    _token, grant = found
    covered = covering_item(grant.access, kind, action, wallet_url)
    if covered is None:
        raise RSError(403, "Insufficient Grant")
    await check_rs_signature(state, request, body, grant.client)
    item, all_clients = covered
    return Authorized(grant, item, all_clients)


async def local_wallet(state: WalletState, url: str) -> Wallet:
    name = local_wallet_name(state, url)
    async with state.sessions() as session:
        wallet = await session.get(Wallet, name) if name else None
    if wallet is None:
        raise RSError(400, "unknown wallet address")
    return wallet


async def authorize_listing(
    state: WalletState, request: Request, kind: str
) -> tuple[Authorized, Wallet]:
    """`GET /<collection>?wallet-address=…`: the token must allow `list` on that wallet."""
    wallet_url = request.query_params.get("wallet-address")
    if not wallet_url:
        raise RSError(400, "wallet-address query parameter is required")
    auth = await authorize(state, request, b"", kind=kind, action="list", wallet_url=wallet_url)
    return auth, await local_wallet(state, wallet_url)


def amount(value: int, code: str, scale: int) -> dict[str, Any]:
    return {"value": str(value), "assetCode": code, "assetScale": scale}


def wallet_amount(value: int, wallet: Wallet) -> dict[str, Any]:
    return amount(value, wallet.asset_code, wallet.asset_scale)


def incoming_url(state: WalletState, payment_id: str) -> str:
    return f"{state.config.resource_url}/incoming-payments/{payment_id}"


def incoming_json(
    state: WalletState, payment: IncomingPayment, wallet: Wallet, *, methods: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": incoming_url(state, payment.id),
        "walletAddress": state.config.wallet_url(wallet.name),
        "completed": payment.completed,
        "receivedAmount": wallet_amount(payment.received, wallet),
        "expiresAt": iso(payment.expires_at),
        "createdAt": iso(payment.created_at),
    }
    if payment.incoming_amount is not None:
        body["incomingAmount"] = wallet_amount(payment.incoming_amount, wallet)
    if payment.meta is not None:
        body["metadata"] = payment.meta
    if methods:
        open_ = not payment.completed and payment.expires_at > time.time()
        body["methods"] = (
            [
                {
                    "type": "ilp",
                    "ilpAddress": f"test.paguito-sandbox.{wallet.name}.{payment.id[:8]}",
                    "sharedSecret": payment.shared_secret,
                }
            ]
            if open_
            else []
        )
    return body


def quote_json(
    state: WalletState, quote: Quote, sender: Wallet, receiver: Wallet
) -> dict[str, Any]:
    return {
        "id": f"{state.config.resource_url}/quotes/{quote.id}",
        "walletAddress": state.config.wallet_url(sender.name),
        "receiver": incoming_url(state, quote.incoming_id),
        "debitAmount": wallet_amount(quote.debit, sender),
        "receiveAmount": wallet_amount(quote.receive, receiver),
        "method": "ilp",
        "createdAt": iso(quote.created_at),
        "expiresAt": iso(quote.expires_at),
    }


def outgoing_json(
    state: WalletState, payment: OutgoingPayment, sender: Wallet, receiver: Wallet
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"{state.config.resource_url}/outgoing-payments/{payment.id}",
        "walletAddress": state.config.wallet_url(sender.name),
        "quoteId": f"{state.config.resource_url}/quotes/{payment.quote_id}",
        "failed": payment.state == "failed",
        "receiver": incoming_url(state, payment.incoming_id),
        "receiveAmount": wallet_amount(payment.receive, receiver),
        "debitAmount": wallet_amount(payment.debit, sender),
        "sentAmount": wallet_amount(payment.sent, sender),
        "createdAt": iso(payment.created_at),
    }
    if payment.meta is not None:
        body["metadata"] = payment.meta
    return body


def page(items: list[Any], request: Request, key: Any) -> tuple[list[Any], dict[str, Any]]:
    """Cursor pagination over `items` (oldest first) with `first`/`last`/`cursor`."""
    params = request.query_params
    try:
        first = int(params["first"]) if "first" in params else None
        last = int(params["last"]) if "last" in params else None
    except ValueError as exc:
        raise RSError(400, "first and last must be integers") from exc
    if any(n is not None and not 1 <= n <= 100 for n in (first, last)):
        raise RSError(400, "first and last must be from 1 to 100")
    ids = [key(i) for i in items]
    cursor = params.get("cursor")
    if cursor is not None and cursor not in ids:
        raise RSError(400, "unknown cursor")
    if last is not None:
        end = ids.index(cursor) if cursor is not None else len(items)
        start = max(0, end - last)
    else:
        start = ids.index(cursor) + 1 if cursor is not None else 0
        end = min(len(items), start + (first or 20))
    chosen = items[start:end]
    info: dict[str, Any] = {"hasPreviousPage": start > 0, "hasNextPage": end < len(items)}
    if chosen:
        info["startCursor"], info["endCursor"] = key(chosen[0]), key(chosen[-1])
    return chosen, info
