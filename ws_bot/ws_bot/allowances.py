"""The allowances a user can choose while linking a wallet (issue 17), in the wallet's own asset:
"ask me every time" (the link proves control and allows no spending) or up to an amount per
week or month, paid with one tap. How they are offered (a list) and named in chat."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shared.contracts import Allowance
from ws_bot import user_store
from ws_bot.buttons import AllowancePick
from ws_bot.graph import Messenger
from ws_bot.texts import t

ASK = "ask"
# code → (amount, ISO 8601 interval); None: ask every time.
CHOICES: dict[str, tuple[str, str] | None] = {
    ASK: None,
    "20w": ("20", "P1W"),
    "50w": ("50", "P1W"),
    "100m": ("100", "P1M"),
}


def allowance(code: str) -> Allowance | None:
    """The allowance of a choice (None: ask every time); KeyError for a code never offered."""
    choice = CHOICES[code]
    return Allowance(amount=choice[0], interval=choice[1]) if choice else None


def amount_text(amount: str, asset: str | None) -> str:
    value = Decimal(amount).quantize(Decimal("0.01"))
    return f"{value} {asset or ''}".strip()


INTERVALS = ("P1D", "P1W", "P1M")  # the periods an allowance may be said in


def _known_interval(interval: str | None) -> str:
    return interval if interval in INTERVALS else "P1W"


def describe(lang: str | None, chosen: dict[str, Any] | None) -> str:
    """'up to 50.00 USD a week without asking', or that every payment is approved."""
    if not chosen:
        return t(lang, "link_what_ask")
    amount = amount_text(str(chosen.get("amount")), chosen.get("assetCode"))
    return t(lang, f"link_what_{_known_interval(chosen.get('interval'))}", amount=amount)


def period(lang: str | None, interval: str | None) -> str:
    """'this week' / 'este mes': the interval a remaining allowance is counted in."""
    key = f"period_{interval}" if interval in INTERVALS else "period_other"
    return t(lang, key)


async def offer(say: Messenger, user: user_store.User, body: str) -> None:
    """The list of allowances, amounts in the user's wallet asset."""
    lang, asset = user.language, user.wallet_asset
    rows = []
    for code, choice in CHOICES.items():
        if choice is None:
            rows.append(
                (AllowancePick(code).to_str(), t(lang, "allow_ask"), t(lang, "allow_ask_note"))
            )
            continue
        amount, interval = choice
        title = t(lang, f"allow_{interval}", amount=f"{amount} {asset or ''}".strip())
        rows.append((AllowancePick(code).to_str(), title, t(lang, "allow_note")))
    await say.choice_list(user.wa_id, body, t(lang, "link_button"), t(lang, "link_section"), rows)
