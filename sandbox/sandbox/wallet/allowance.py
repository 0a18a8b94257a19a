"""What an outgoing-payment grant allows, in the words the consent and balances pages use."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sandbox.wallet.interval import IntervalError, RepeatingInterval, parse_interval
from shared.money import from_minor_units

_UNITS = (
    ("Y", "year"),
    ("M", "month"),
    ("W", "week"),
    ("D", "day"),
    ("TH", "hour"),
    ("TM", "minute"),
    ("TS", "second"),
)
_PART = re.compile(r"(\d+)([YMWDHS])")


def money(amount: dict[str, Any]) -> str:
    """`{"value": "2050", "assetCode": "USD", "assetScale": 2}` → `20.50 USD`."""
    return (
        f"{from_minor_units(int(amount['value']), int(amount['assetScale']))} {amount['assetCode']}"
    )


def spends(item: dict[str, Any]) -> bool:
    return "create" in item.get("actions", [])


def period(duration: str) -> str:
    """`P1W` → `week`, `PT30S` → `30 seconds`; a mixed duration stays as written."""
    date, _, time = duration[1:].partition("T")
    parts = [(n, u) for n, u in _PART.findall(date)] + [
        (n, "T" + u) for n, u in _PART.findall(time)
    ]
    if len(parts) != 1:
        return f"{duration} period"
    count, unit = int(parts[0][0]), dict(_UNITS)[parts[0][1]]
    return unit if count == 1 else f"{count} {unit}s"


def _length(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    return f"{seconds // 86400} days" if seconds % 86400 == 0 else f"{seconds} seconds"


def when(moment: datetime) -> str:
    shown = f"{moment:%H:%M:%S}" if moment.second else f"{moment:%H:%M}"
    return f"{moment.day} {moment:%b %Y}, {shown} UTC"


def _every(text: str, parsed: RepeatingInterval) -> str:
    duration = next((p for p in text.split("/")[1:] if p.startswith("P")), None)
    return period(duration) if duration else _length(parsed.first_end - parsed.first_start)


def interval_words(text: str) -> str:
    """`R/2026-12-01T00:00:00Z/P1W` → `renewing every week from 1 Dec 2026, 00:00 UTC`."""
    parsed = parse_interval(text)
    words = f"renewing every {_every(text, parsed)} from {when(parsed.first_start)}"
    if parsed.repetitions is not None:
        words += f", {parsed.repetitions + 1} times in all"
    return words


def allowance_words(item: dict[str, Any], client_name: str) -> str:
    """One sentence on what the grant lets the client do with the wallet."""
    if not spends(item):
        return f"links this wallet: {client_name} can read payments it makes and cannot spend"
    limits: dict[str, Any] = item.get("limits", {})
    amount = limits.get("debitAmount") or limits.get("receiveAmount")
    received = " received" if "receiveAmount" in limits else ""
    interval = limits.get("interval")
    if amount is None:
        return "payments of any amount: no limit"
    if interval is None:
        return f"up to {money(amount)}{received} in all"
    try:
        per = _every(interval, parse_interval(interval))
    except IntervalError:  # stored before intervals were checked at the grant request
        return f"up to {money(amount)}{received} per interval {interval} (unreadable)"
    return f"up to {money(amount)}{received} per {per}, {interval_words(interval)}"
