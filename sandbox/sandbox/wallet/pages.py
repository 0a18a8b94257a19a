"""HTML pages (Jinja2 templates shipped in the package): consent, messages, balances."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select

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
        },
    )
