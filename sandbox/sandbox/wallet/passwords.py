"""Each wallet's sign-in password for the consent page: the sandbox's "only the owner approves".

Configured ones (`--password NAME=SECRET`, `$WALLET_PASSWORDS`) are used as given; every other
wallet gets a random one the first time it is asked for, kept in memory only, so it changes with
each run. They are shown on purpose only on the operator's balances page, the admin API and the
demo's start-up text — never logged.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping


class PasswordError(ValueError):
    pass


def parse_passwords(pairs: list[str]) -> dict[str, str]:
    """`["alice=s3cret", "bob=…"]` (or one comma-separated string each) → `{name: password}`."""
    result: dict[str, str] = {}
    for pair in (p.strip() for text in pairs for p in text.split(",")):
        if not pair:
            continue
        name, sep, password = pair.partition("=")
        if not sep or not name.strip() or not password:
            raise PasswordError(f"expected NAME=PASSWORD, got {pair.split('=')[0]!r}=…")
        result[name.strip()] = password
    return result


# Wrong passwords one consent request takes before it stops accepting any (as a wallet's login
# locks): guessing a random password through the page is then hopeless.
MAX_WRONG = 5


class Passwords:
    def __init__(self, configured: Mapping[str, str]) -> None:
        self._known = dict(configured)
        self._wrong: dict[str, int] = {}

    def of(self, wallet: str) -> str:
        if wallet not in self._known:
            self._known[wallet] = secrets.token_urlsafe(6)
        return self._known[wallet]

    def locked(self, request: str) -> bool:
        return self._wrong.get(request, 0) >= MAX_WRONG

    def check(self, wallet: str, given: str, request: str) -> bool:
        """Whether `given` is the wallet's password; a wrong one counts against `request`."""
        right = secrets.compare_digest(self.of(wallet).encode(), given.encode())
        if not right:
            self._wrong[request] = self._wrong.get(request, 0) + 1
        return right
