"""Fault switches: make the next N protocol requests fail with a status or hang for a while.

Scopes: `auth` (GNAP endpoints under /auth, not the consent pages), `resource` (incoming
payments, quotes, outgoing payments), `wallet` (wallet address and JWKS documents), `any`.
A `hang` fault sleeps, then handles the request normally (as a slow network would). A `late`
fault handles the request at once but holds its answer for `seconds`: the work is done, and a
client that gives up (or dies) meanwhile never learns of it. Optional
`method` and `path` (prefix) narrow a fault to, say, `POST /outgoing-payments`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Scope = Literal["auth", "resource", "wallet", "any"]
Mode = Literal["error", "hang", "late"]
RESOURCE_ROOTS = frozenset(
    {"incoming-payments", "outgoing-payments", "quotes", "outgoing-payment-grant"}
)
_UNRECORDED_ROOTS = frozenset({"admin", "balances", "health", "ready", "favicon.ico", ""})


def classify(path: str) -> str | None:
    """Which protocol surface a path belongs to, or None for pages and admin."""
    first = path.strip("/").split("/", 1)[0]
    if first in _UNRECORDED_ROOTS or path.startswith("/auth/interact"):
        return None
    if first == "auth":
        return "auth"
    if first in RESOURCE_ROOTS:
        return "resource"
    return "wallet"


@dataclass
class Fault:
    scope: Scope
    mode: Mode
    remaining: int
    status: int = 500
    seconds: float = 0.0
    method: str | None = None  # only requests with this method, e.g. "POST"
    path: str | None = None  # only paths starting with this, e.g. "/outgoing-payments"

    def matches(self, kind: str, method: str, path: str) -> bool:
        return (
            self.remaining > 0
            and self.scope in (kind, "any")
            and (self.method is None or self.method == method)
            and (self.path is None or path.startswith(self.path))
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    def __init__(self) -> None:
        self.pending: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self.pending.append(fault)

    def clear(self) -> None:
        self.pending.clear()

    def take(self, kind: str, method: str, path: str) -> Fault | None:
        for fault in self.pending:
            if fault.matches(kind, method, path):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.pending.remove(fault)
                return fault
        return None
