"""Admin API for wallets (local use, no authentication — never expose the sandbox publicly).

- `GET  /admin/wallets` · `GET /admin/wallets/{name}` (balance, movements, consent password)
- `POST /admin/wallets` `{name, publicName?, assetCode, assetScale, balance?: "100.00"}`
- `POST /admin/wallets/{name}/keys` `{kid?, x?}` — adds a public key, or generates a pair and
  returns `privateKeyPem` once when `x` is missing
- `POST /admin/wallets/{name}/deposit` `{amount: "12.34"}` (negative withdraws) ·
  `PUT /admin/wallets/{name}/balance` `{balance: "1000.00"}`

Test shortcuts (interactions, faults, recorded exchanges) live in `sandbox.wallet.admin_ops`.
"""

from __future__ import annotations

import re
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sandbox.wallet.errors import rs_body
from sandbox.wallet.keys import private_pem, public_key_from_x, public_x
from sandbox.wallet.models import Movement, Wallet, WalletKey
from sandbox.wallet.pages import minor
from sandbox.wallet.state import State, WalletState
from sandbox.wallet.store import RESERVED_NAMES, InsufficientFunds, SeedWallet, add_wallet, move
from shared.money import MoneyError, to_minor_units

router = APIRouter(prefix="/admin", tags=["admin"])
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def admin_error(status: int, message: str) -> JSONResponse:
    return JSONResponse(rs_body(status, message), status_code=status)


async def json_object(request: Request) -> dict[str, Any] | JSONResponse:
    try:
        body = await request.json()
    except ValueError:
        return admin_error(400, "body must be JSON")
    return body if isinstance(body, dict) else admin_error(400, "body must be a JSON object")


def _wallet_admin_json(state: WalletState, wallet: Wallet) -> dict[str, Any]:
    return {
        "name": wallet.name,
        "id": state.config.wallet_url(wallet.name),
        "publicName": wallet.public_name,
        "assetCode": wallet.asset_code,
        "assetScale": wallet.asset_scale,
        "balance": {"value": str(wallet.balance), "formatted": minor(wallet.balance, wallet)},
        # The consent-page password (local admin use, like the balances page that lists it).
        "password": state.passwords.of(wallet.name),
    }


@router.get("/wallets")
async def list_wallets(state: State) -> JSONResponse:
    async with state.sessions() as session:
        wallets = (await session.scalars(select(Wallet).order_by(Wallet.name))).all()
    return JSONResponse({"wallets": [_wallet_admin_json(state, w) for w in wallets]})


@router.get("/wallets/{name}")
async def get_wallet(name: str, state: State) -> JSONResponse:
    async with state.sessions() as session:
        wallet = await session.get(Wallet, name)
        if wallet is None:
            return admin_error(404, "unknown wallet")
        movements = (
            await session.scalars(
                select(Movement).where(Movement.wallet == name).order_by(Movement.id)
            )
        ).all()
    body = _wallet_admin_json(state, wallet)
    body["movements"] = [
        {
            "amount": str(m.amount),
            "balanceAfter": str(m.balance_after),
            "description": m.description,
            "reference": m.reference,
            "createdAt": m.created_at,
        }
        for m in movements
    ]
    return JSONResponse(body)


@router.post("/wallets")
async def create_wallet(request: Request, state: State) -> JSONResponse:
    body = await json_object(request)
    if isinstance(body, JSONResponse):
        return body
    name, code, scale = body.get("name"), body.get("assetCode", "USD"), body.get("assetScale", 2)
    if not isinstance(name, str) or not _NAME.match(name) or name in RESERVED_NAMES:
        return admin_error(400, "name must be lower-case letters, digits, '.', '_' or '-'")
    if not isinstance(code, str) or not re.fullmatch(r"[A-Z0-9]{1,12}", code):
        return admin_error(400, "assetCode must be upper-case letters or digits")
    if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= 18:
        return admin_error(400, "assetScale must be an integer from 0 to 18")
    try:
        balance = to_minor_units(str(body.get("balance", "0")), scale)
    except MoneyError as exc:
        return admin_error(400, str(exc))
    if balance < 0:
        return admin_error(400, "balance cannot be negative")
    public_name = body.get("publicName") or name.capitalize()
    try:
        async with state.write() as session:
            wallet = await add_wallet(
                session, SeedWallet(name, str(public_name), code, scale, balance)
            )
    except IntegrityError:
        return admin_error(409, "a wallet with that name exists")
    return JSONResponse(_wallet_admin_json(state, wallet), status_code=201)


@router.post("/wallets/{name}/keys")
async def add_key(name: str, request: Request, state: State) -> JSONResponse:
    body = await json_object(request)
    if isinstance(body, JSONResponse):
        return body
    kid = body.get("kid") or f"{name}-{int(time.time() * 1000)}"
    result: dict[str, Any] = {"kid": kid}
    if body.get("x"):
        try:
            public_key_from_x(str(body["x"]))
        except ValueError as exc:
            return admin_error(400, f"x: {exc}")
        x = str(body["x"])
    else:
        private = Ed25519PrivateKey.generate()
        x = public_x(private)
        result["privateKeyPem"] = private_pem(private).decode()
    result["x"] = x
    try:
        async with state.write() as session:
            if await session.get(Wallet, name) is None:
                return admin_error(404, "unknown wallet")
            session.add(WalletKey(wallet=name, kid=str(kid), x=x))
    except IntegrityError:
        return admin_error(409, "that key id exists for this wallet")
    return JSONResponse(result, status_code=201)


async def _adjust(state: WalletState, name: str, text: Any, *, absolute: bool) -> JSONResponse:
    async with state.write() as session:
        wallet = await session.get(Wallet, name)
        if wallet is None:
            return admin_error(404, "unknown wallet")
        try:
            value = to_minor_units(str(text), wallet.asset_scale)
        except MoneyError as exc:
            return admin_error(400, str(exc))
        delta = value - wallet.balance if absolute else value
        if absolute and value < 0:
            return admin_error(400, "balance cannot be negative")
        try:
            await move(
                session,
                name,
                delta,
                "Balance set by admin" if absolute else ("Deposit" if delta >= 0 else "Withdrawal"),
                None,
            )
        except InsufficientFunds:
            return admin_error(409, "not enough balance to withdraw that")
        await session.refresh(wallet)
        return JSONResponse(_wallet_admin_json(state, wallet))


@router.post("/wallets/{name}/deposit")
async def deposit(name: str, request: Request, state: State) -> JSONResponse:
    body = await json_object(request)
    if isinstance(body, JSONResponse):
        return body
    return await _adjust(state, name, body.get("amount"), absolute=False)


@router.put("/wallets/{name}/balance")
async def set_balance(name: str, request: Request, state: State) -> JSONResponse:
    body = await json_object(request)
    if isinstance(body, JSONResponse):
        return body
    return await _adjust(state, name, body.get("balance"), absolute=True)
