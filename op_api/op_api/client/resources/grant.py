"""`client.grant`: GNAP grant request, continuation and cancellation at an auth server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from op_api.client.http import OpenPaymentsHttp, parse
from op_api.client.models import (
    AccessItem,
    AccessOutgoing,
    Grant,
    GrantContinuation,
    InteractRequest,
    PendingGrant,
)


class GrantRoutes:
    def __init__(self, http: OpenPaymentsHttp, client_wallet_address: str) -> None:
        self._http = http
        self._client = client_wallet_address

    @staticmethod
    def body(
        client: str, access: Sequence[AccessItem], interact: InteractRequest | None
    ) -> dict[str, Any]:
        for item in access:
            limits = item.limits if isinstance(item, AccessOutgoing) else None
            if limits and limits.debit_amount and limits.receive_amount:
                raise ValueError('only one of "debitAmount" or "receiveAmount" may be limited')
        body: dict[str, Any] = {
            "access_token": {"access": [item.wire() for item in access]},
            "client": client,
        }
        if interact is not None:
            body["interact"] = interact.wire()
        return body

    async def request(
        self,
        url: str,
        access: Sequence[AccessItem],
        interact: InteractRequest | None = None,
    ) -> Grant | PendingGrant:
        """POST the auth server: a `Grant` (non-interactive) or a `PendingGrant` (interactive)."""
        body = self.body(self._client, access, interact)
        response = await self._http.request("POST", url, body=body)
        if "interact" in response.json():
            return parse(PendingGrant, response)
        return parse(Grant, response)

    async def continue_(
        self, url: str, access_token: str, interact_ref: str | None = None
    ) -> Grant | GrantContinuation:
        """Continue a grant: by polling (no body) or with the `interact_ref` of a finish redirect.

        The access token of an approved grant is returned **once**; store it before anything else.
        """
        body = {"interact_ref": interact_ref} if interact_ref is not None else None
        response = await self._http.request("POST", url, access_token=access_token, body=body)
        if "access_token" in response.json():
            return parse(Grant, response)
        return parse(GrantContinuation, response)

    async def cancel(self, url: str, access_token: str) -> None:
        await self._http.request("DELETE", url, access_token=access_token)
