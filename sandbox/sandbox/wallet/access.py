"""Access rights in grant requests: validation, and whether a token covers a request."""

from __future__ import annotations

import re
from typing import Any

from sandbox.wallet.interval import IntervalError, parse_interval

ACTIONS = {
    "incoming-payment": {"create", "complete", "read", "read-all", "list", "list-all"},
    "outgoing-payment": {"create", "read", "read-all", "list", "list-all"},
    "quote": {"create", "read", "read-all"},
}
INTERACTIVE_TYPES = frozenset({"outgoing-payment"})
_VALUE = re.compile(r"^\d{1,20}$")
_CODE = re.compile(r"^[A-Z0-9]{1,12}$")
RECEIVER = re.compile(r"^(https|http)://(.+)/incoming-payments/(.+)$")


class AccessError(ValueError):
    pass


def parse_amount(value: Any, field: str) -> dict[str, Any]:
    """An Open Payments amount, checked: `{value: "<digits>", assetCode, assetScale}`."""
    if not isinstance(value, dict) or set(value) - {"value", "assetCode", "assetScale"}:
        raise AccessError(f"{field} must be an amount object")
    raw, code, scale = value.get("value"), value.get("assetCode"), value.get("assetScale")
    if not isinstance(raw, str) or not _VALUE.match(raw) or int(raw) >= 2**64:
        raise AccessError(f"{field}.value must be an unsigned integer string")
    if not isinstance(code, str) or not _CODE.match(code):
        raise AccessError(f"{field}.assetCode is invalid")
    if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= 255:
        raise AccessError(f"{field}.assetScale must be an integer from 0 to 255")
    return {"value": raw, "assetCode": code, "assetScale": scale}


def parse_access(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list) or not 1 <= len(items) <= 3:
        raise AccessError("access_token.access must list 1 to 3 access items")
    parsed = [_parse_item(item) for item in items]
    return parsed


def _parse_item(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise AccessError("access items must be objects")
    kind = item.get("type")
    if kind not in ACTIONS:
        raise AccessError(f"unknown access type {kind!r}")
    allowed = {"type", "actions", "identifier"} | (
        {"limits"} if kind == "outgoing-payment" else set()
    )
    if set(item) - allowed:
        raise AccessError(f"unexpected fields in {kind} access: {sorted(set(item) - allowed)}")
    actions = item.get("actions")
    if (
        not isinstance(actions, list)
        or not actions
        or len(set(map(str, actions))) != len(actions)
        or not all(isinstance(a, str) and a in ACTIONS[kind] for a in actions)
    ):
        raise AccessError(f"invalid actions for {kind}")
    result: dict[str, Any] = {"type": kind, "actions": list(actions)}
    identifier = item.get("identifier")
    if identifier is not None:
        if not isinstance(identifier, str) or not identifier.startswith(("http://", "https://")):
            raise AccessError("identifier must be a URL")
        result["identifier"] = identifier
    elif kind == "outgoing-payment":
        raise AccessError("identifier required")
    if "limits" in item:
        result["limits"] = _parse_limits(item["limits"])
    return result


def _parse_limits(limits: Any) -> dict[str, Any]:
    if not isinstance(limits, dict):
        raise AccessError("limits must be an object")
    if set(limits) - {"receiver", "interval", "debitAmount", "receiveAmount"}:
        raise AccessError("unexpected fields in limits")
    if "debitAmount" in limits and "receiveAmount" in limits:
        raise AccessError("only one of debitAmount or receiveAmount may be limited")
    result: dict[str, Any] = {}
    receiver = limits.get("receiver")
    if receiver is not None:
        if not isinstance(receiver, str) or not RECEIVER.match(receiver):
            raise AccessError("limits.receiver must be an incoming payment URL")
        result["receiver"] = receiver
    if "interval" in limits:
        # Rafiki's auth server takes any string and its payments then fail; refusing at once
        # tells the client while it can still fix the request.
        if not isinstance(limits["interval"], str):
            raise AccessError("limits.interval must be a string")
        try:
            parse_interval(limits["interval"])
        except IntervalError as exc:
            raise AccessError(f"limits.interval: {exc}") from exc
        result["interval"] = limits["interval"]
    for field in ("debitAmount", "receiveAmount"):
        if field in limits:
            result[field] = parse_amount(limits[field], f"limits.{field}")
    return result


def covering_item(
    access: list[dict[str, Any]], kind: str, action: str, wallet_url: str | None
) -> tuple[dict[str, Any], bool] | None:
    """The access item allowing `action` on `kind` at `wallet_url`, and whether it is `*-all`."""
    for item in access:
        if item.get("type") != kind:
            continue
        actions = item.get("actions", [])
        identifier = item.get("identifier")
        if (
            identifier
            and wallet_url is not None
            and identifier.rstrip("/") != wallet_url.rstrip("/")
        ):
            continue
        if action in ("read", "list") and f"{action}-all" in actions:
            return item, True
        if action in actions:
            return item, False
    return None
