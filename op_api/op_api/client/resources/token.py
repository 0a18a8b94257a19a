"""`client.token`: rotate (new value, old one turns inactive) and revoke an access token."""

from __future__ import annotations

from pydantic import BaseModel

from op_api.client.http import OpenPaymentsHttp
from op_api.client.models import AccessToken


class _Rotated(BaseModel):
    access_token: AccessToken


class TokenRoutes:
    def __init__(self, http: OpenPaymentsHttp) -> None:
        self._http = http

    async def rotate(self, url: str, access_token: str) -> AccessToken:
        """POST the token's `manage` URL; returns the new token (with its new `manage` URL)."""
        rotated = await self._http.json(_Rotated, "POST", url, access_token=access_token)
        return rotated.access_token

    async def revoke(self, url: str, access_token: str) -> None:
        await self._http.request("DELETE", url, access_token=access_token)
