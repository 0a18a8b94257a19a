"""HTML pages (Jinja2 templates shipped in the package): consent, messages, balances.

The balances page is the sandbox operator's: every wallet's balance, movements, consent-page
password and live outgoing-payment grants, each with a Revoke button. Its forms carry a per-run
token, so another site cannot make the operator's browser revoke a grant.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select

from sandbox.wallet.auth_server import revoke_grant
from sandbox.wallet.grant_list import active_grants
from sandbox.wallet.models import Movement, OutgoingPayment, Wallet
from sandbox.wallet.state import State
from sandbox.wallet.timeutil import iso
from shared.money import from_minor_units

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)

router = APIRouter(tags=["pages"])


def minor(value: int, wallet: Wallet) -> str:
    return f"{from_minor_units(value, wallet.asset_scale)} {wallet.asset_code}"


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    html = _env.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status_code)


@router.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    return RedirectResponse("/balances", status_code=302)


@router.get("/balances", response_class=HTMLResponse)
async def balances(request: Request, state: State) -> HTMLResponse:
    async with state.sessions() as session:
        wallets = (await session.scalars(select(Wallet).order_by(Wallet.name))).all()
        grants: dict[str, list[dict[str, Any]]] = {}
        for view in await active_grants(state, session):
            grants.setdefault(view["wallet"], []).append(view)
        rows = []
        for wallet in wallets:
            movements = (
                await session.scalars(
                    select(Movement)
                    .where(Movement.wallet == wallet.name)
                    .order_by(Movement.id.desc())
                    .limit(15)
                )
            ).all()
            rows.append(
                {
                    "name": wallet.name,
                    "public_name": wallet.public_name,
                    "password": state.passwords.of(wallet.name),
                    "grants": grants.get(wallet.name, []),
                    "url": state.config.wallet_url(wallet.name),
                    "balance": minor(wallet.balance, wallet),
                    "movements": [
                        {
                            "time": iso(m.created_at)[:19].replace("T", " "),
                            "amount": ("+" if m.amount > 0 else "") + minor(m.amount, wallet),
                            "positive": m.amount > 0,
                            "description": m.description,
                            "balance": minor(m.balance_after, wallet),
                        }
                        for m in movements
                    ],
                }
            )
        failed = (
            await session.scalars(
                select(OutgoingPayment)
                .where(OutgoingPayment.state == "failed")
                .order_by(OutgoingPayment.created_at.desc())
                .limit(10)
            )
        ).all()
    return render(
        request,
        "balances.html",
        {
            "wallets": rows,
            "failed": [
                {"id": p.id, "wallet": p.wallet, "reason": p.failure_reason} for p in failed
            ],
            "form_token": state.form_token,
            "base": state.config.base,
            "notice": request.query_params.get("notice"),
        },
    )


@router.post("/balances/grants/{grant_id}/revoke", response_model=None)
async def revoke_from_page(
    grant_id: str, request: Request, state: State
) -> RedirectResponse | HTMLResponse:
    """The owner's "revoke access": its tokens then answer 403 "Inactive Token", as at Rafiki."""
    token = (await request.form()).get("form_token")
    if not isinstance(token, str) or not secrets.compare_digest(token, state.form_token):
        # Not from our page (another site's form, or a page from an earlier run): nothing done.
        context = {
            "title": "Not revoked",
            "message": "This form is out of date. Reload the balances page and try again.",
            "tone": "bad",
        }
        return render(request, "message.html", context, status_code=403)
    async with state.sessions() as session:
        live = {g["id"]: g for g in await active_grants(state, session)}
    if grant_id in live:
        await revoke_grant(state, grant_id)
    notice = "revoked" if grant_id in live else "unknown"
    wallet = live[grant_id]["wallet"] if grant_id in live else ""
    return RedirectResponse(
        f"{state.config.base}/balances?notice={notice}#wallet-{wallet}", status_code=303
    )
