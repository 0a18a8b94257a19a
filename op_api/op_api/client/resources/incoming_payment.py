"""`client.incoming_payment`: create, get, list and complete at the receiver's resource server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from op_api.client.http import OpenPaymentsHttp
from op_api.client.models import (
    Amount,
    IncomingPayment,
    IncomingPaymentPage,
    IncomingPaymentWithMethods,
    PublicIncomingPayment,
)
from op_api.client.resources.paging import Pagination
from op_api.client.urls import join_url


def _timestamp(value: datetime) -> str:
    # JS `toISOString()` shape: UTC with milliseconds and a `Z`.
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


class IncomingPaymentRoutes:
    def __init__(self, http: OpenPaymentsHttp) -> None:
        self._http = http

    @staticmethod
    def body(
        wallet_address: str,
        incoming_amount: Amount | None,
        expires_at: datetime | None,
        metadata: dict[str, Any] | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"walletAddress": wallet_address}
        if incoming_amount is not None:
            body["incomingAmount"] = incoming_amount.to_wire()
        if expires_at is not None:
            body["expiresAt"] = _timestamp(expires_at)
        if metadata:
            body["metadata"] = metadata
        return body

    async def create(
        self,
        url: str,
        access_token: str,
        *,
        wallet_address: str,
        incoming_amount: Amount | None = None,
        expires_at: datetime | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> IncomingPaymentWithMethods:
        """`url` is the receiver's resource server; `wallet_address` the receiver's address."""
        body = self.body(wallet_address, incoming_amount, expires_at, metadata)
        return await self._http.json(
            IncomingPaymentWithMethods,
            "POST",
            join_url(url, "incoming-payments"),
            access_token=access_token,
            body=body,
        )

    async def get(self, url: str, access_token: str) -> IncomingPaymentWithMethods:
        return await self._http.json(
            IncomingPaymentWithMethods, "GET", url, access_token=access_token
        )

    async def get_public(self, url: str) -> PublicIncomingPayment:
        """The unauthenticated view (received amount and auth server)."""
        return await self._http.json(PublicIncomingPayment, "GET", url)

    async def list(
        self,
        url: str,
        access_token: str,
        *,
        wallet_address: str,
        pagination: Pagination | None = None,
    ) -> IncomingPaymentPage:
        return await self._http.json(
            IncomingPaymentPage,
            "GET",
            join_url(url, "incoming-payments"),
            access_token=access_token,
            params=(pagination or Pagination()).params(wallet_address),
        )

    async def complete(self, url: str, access_token: str) -> IncomingPayment:
        """Close the incoming payment: the receiver's wallet accepts no more funds into it."""
        return await self._http.json(
            IncomingPayment, "POST", join_url(url, "complete"), access_token=access_token
        )
