"""`client.quote`: create and get quotes at the **sender's** resource server."""

from __future__ import annotations

from typing import Any

from op_api.client.http import OpenPaymentsHttp
from op_api.client.models import Amount, Quote
from op_api.client.urls import join_url


class QuoteRoutes:
    def __init__(self, http: OpenPaymentsHttp) -> None:
        self._http = http

    @staticmethod
    def body(
        wallet_address: str,
        receiver: str,
        debit_amount: Amount | None,
        receive_amount: Amount | None,
    ) -> dict[str, Any]:
        if debit_amount is not None and receive_amount is not None:
            raise ValueError("quote either debitAmount (fixed send) or receiveAmount, not both")
        body: dict[str, Any] = {"walletAddress": wallet_address, "receiver": receiver}
        body["method"] = "ilp"
        if debit_amount is not None:
            body["debitAmount"] = debit_amount.to_wire()
        if receive_amount is not None:
            body["receiveAmount"] = receive_amount.to_wire()
        return body

    async def create(
        self,
        url: str,
        access_token: str,
        *,
        wallet_address: str,
        receiver: str,
        debit_amount: Amount | None = None,
        receive_amount: Amount | None = None,
    ) -> Quote:
        """Without an amount the quote is fixed by the incoming payment's `incomingAmount`."""
        body = self.body(wallet_address, receiver, debit_amount, receive_amount)
        return await self._http.json(
            Quote, "POST", join_url(url, "quotes"), access_token=access_token, body=body
        )

    async def get(self, url: str, access_token: str) -> Quote:
        return await self._http.json(Quote, "GET", url, access_token=access_token)
