"""Per-process caches that save round trips on every payment after the first.

- Wallet address documents are public and change rarely: kept `WALLET_CACHE_SECONDS`.
- Non-interactive grants (incoming payments for a receiver, quotes at a sender's auth server)
  are reusable until their token expires: one grant serves many payments. A shared token is
  never rotated (rotation would revoke it under the other payments' feet); when it expires or is
  refused, a new grant replaces it. Interactive (outgoing-payment) grants are never shared.
  A shared token is keyed by the resource server it is used at as well as the auth server that
  issued it: a wallet document naming the same auth server but its own resource server gets a
  token of its own, never the one other users' payments carry.
- Every wallet document is checked (`shared.wallet_address.check_document`): its `id` and its
  `resourceServer` on the origin it was fetched from, its `authServer` a URL we may call.

Concurrent misses for the same key wait for one request instead of each making their own.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from op_api.client import InvalidResponseError, OpenPaymentsClient
from op_api.client.models import AccessItem, Grant, WalletAddress
from op_api.records import StoredToken
from op_api.store import utcnow
from shared.money import MoneyError, check_asset
from shared.wallet_address import WalletAddressError, check_document

V = TypeVar("V")
GRANT_MARGIN = timedelta(seconds=30)  # never hand out a token about to expire
GRANT_MAX_AGE = timedelta(minutes=5)  # for tokens without expires_in
MAX_ENTRIES = 1000  # past this, expired entries are dropped


class GrantNotImmediate(Exception):
    """A grant we expected to be non-interactive asked for user interaction."""


class _SingleFlight(Generic[V]):
    def __init__(self) -> None:
        self._entries: dict[str, tuple[datetime, V]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def fresh(self, key: str) -> V | None:
        entry = self._entries.get(key)
        return entry[1] if entry and entry[0] > utcnow() else None

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)

    async def get(
        self, key: str, load: Callable[[], Awaitable[tuple[datetime, V]]], *, force: bool = False
    ) -> V:
        if not force and (hit := self.fresh(key)) is not None:
            return hit
        lock = self._locks.setdefault(key, asyncio.Lock())
        stale = self._entries.get(key)
        async with lock:
            current = self._entries.get(key)
            if current is not None and current is not stale and current[0] > utcnow():
                return current[1]  # another caller loaded it while we waited
            if not force and (hit := self.fresh(key)) is not None:
                return hit
            expires, value = await load()
            self._entries[key] = (expires, value)
            if len(self._entries) > MAX_ENTRIES:
                self._prune()
            return value

    def _prune(self) -> None:
        now = utcnow()
        for key in [k for k, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[key]
            lock = self._locks.get(key)
            if lock is not None and not lock.locked():
                del self._locks[key]


class Caches:
    def __init__(self, client: OpenPaymentsClient, wallet_seconds: int, reuse_grants: bool) -> None:
        self.client = client
        self.wallet_ttl = timedelta(seconds=wallet_seconds)
        self.reuse_grants = reuse_grants
        self._wallets: _SingleFlight[WalletAddress] = _SingleFlight()
        self._grants: _SingleFlight[StoredToken] = _SingleFlight()

    async def wallet(self, url: str) -> WalletAddress:
        async def load() -> tuple[datetime, WalletAddress]:
            document = await self.client.wallet_address.get(url)
            try:
                check_asset(document.asset_code, document.asset_scale)
                check_document(
                    url,
                    id=document.id,
                    auth_server=document.auth_server,
                    resource_server=document.resource_server,
                    allow_http=self.client.http.allow_insecure_http,
                )
            except WalletAddressError as exc:
                raise InvalidResponseError(f"wallet address {url}: {exc.reason}") from exc
            except MoneyError as exc:
                raise InvalidResponseError(f"wallet address {url}: {exc}") from exc
            return utcnow() + self.wallet_ttl, document

        if not self.wallet_ttl:
            return (await load())[1]
        return await self._wallets.get(url, load)

    @staticmethod
    def grant_key(auth_server: str, access: Sequence[AccessItem], resource_server: str) -> str:
        wire = [a.wire() for a in access]
        return json.dumps([auth_server, resource_server.rstrip("/"), wire], sort_keys=True)

    async def grant(
        self,
        auth_server: str,
        access: Sequence[AccessItem],
        *,
        resource_server: str,
        renew: bool = False,
    ) -> StoredToken:
        """A token for a non-interactive grant, to be used at `resource_server` only: shared
        with other payments at that resource server while valid, or a new grant."""

        async def load() -> tuple[datetime, StoredToken]:
            grant = await self.client.grant.request(auth_server, access)
            if not isinstance(grant, Grant):
                raise GrantNotImmediate(f"{auth_server} wants interaction for {access[0].type}")
            now = utcnow()
            token = StoredToken.from_access_token(grant.access_token, now)
            expires = token.expires_at - GRANT_MARGIN if token.expires_at else now + GRANT_MAX_AGE
            return expires, token

        if not self.reuse_grants:
            return (await load())[1]
        key = self.grant_key(auth_server, access, resource_server)
        return await self._grants.get(key, load, force=renew)
