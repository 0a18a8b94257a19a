"""`client.outgoing_payment`: create (from a quote), get and list at the sender's RS."""

from __future__ import annotations

from typing import Any

from op_api.client.http import OpenPaymentsHttp
from op_api.client.models import OutgoingPayment, OutgoingPaymentPage
from op_api.client.resources.paging import Pagination
from op_api.client.urls import join_url


class OutgoingPaymentRoutes:
    def __init__(self, http: OpenPaymentsHttp) -> None:
        self._http = http

    @staticmethod
    def body(wallet_address: str, quote_id: str, metadata: dict[str, Any] | None) -> dict[str, Any]:
        body: dict[str, Any] = {"walletAddress": wallet_address, "quoteId": quote_id}
        if metadata:
            body["metadata"] = metadata
        return body

    async def create(
        self,
        url: str,
        access_token: str,
        *,
        wallet_address: str,
        quote_id: str,
        metadata: dict[str, Any] | None = None,
    ) -> OutgoingPayment:
        """Not idempotent: a blind retry could pay twice, so it is never retried here."""
        return await self._http.json(
            OutgoingPayment,
            "POST",
            join_url(url, "outgoing-payments"),
            access_token=access_token,
            body=self.body(wallet_address, quote_id, metadata),
        )

    async def get(self, url: str, access_token: str) -> OutgoingPayment:
        return await self._http.json(OutgoingPayment, "GET", url, access_token=access_token)

    async def list(
        self,
        url: str,
        access_token: str,
        *,
        wallet_address: str,
        pagination: Pagination | None = None,
    ) -> OutgoingPaymentPage:
        return await self._http.json(
            OutgoingPaymentPage,
            "GET",
            join_url(url, "outgoing-payments"),
            access_token=access_token,
            params=(pagination or Pagination()).params(wallet_address),
        )
