"""`client.wallet_address`: the public wallet address document and its keys (unsigned GETs)."""

from __future__ import annotations

from op_api.client.http import OpenPaymentsHttp
from op_api.client.models import JsonWebKeySet, WalletAddress
from op_api.client.urls import join_url


class WalletAddressRoutes:
    def __init__(self, http: OpenPaymentsHttp) -> None:
        self._http = http

    async def get(self, url: str) -> WalletAddress:
        return await self._http.json(WalletAddress, "GET", url)

    async def get_keys(self, url: str) -> JsonWebKeySet:
        return await self._http.json(JsonWebKeySet, "GET", join_url(url, "jwks.json"))
