"""Wallet address documents and their JWKS (public, unsigned)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from sandbox.wallet.clients import wallet_json
from sandbox.wallet.errors import rs_body
from sandbox.wallet.keys import jwk
from sandbox.wallet.models import Wallet, WalletKey
from sandbox.wallet.state import State

router = APIRouter(tags=["wallet-address"])
_NOT_FOUND = rs_body(404, "wallet address not found")


@router.get("/{name}")
async def wallet_address(name: str, request: Request, state: State) -> Response:
    async with state.sessions() as session:
        wallet = await session.get(Wallet, name)
    if wallet is None:
        return JSONResponse(_NOT_FOUND, status_code=404)
    accept = request.headers.get("accept", "")
    if "text/html" in accept and "application/json" not in accept:
        # A person opened the payment pointer in a browser (the spec allows a 302 to a page).
        return RedirectResponse(f"/balances#wallet-{name}", status_code=302)
    return JSONResponse(wallet_json(state, wallet), headers={"Cache-Control": "max-age=60"})


@router.get("/{name}/jwks.json")
async def wallet_keys(name: str, state: State) -> JSONResponse:
    async with state.sessions() as session:
        wallet = await session.get(Wallet, name)
        keys = (await session.scalars(select(WalletKey).where(WalletKey.wallet == name))).all()
    if wallet is None:
        return JSONResponse(_NOT_FOUND, status_code=404)
    return JSONResponse({"keys": [jwk(k.kid, k.x) for k in keys]})
