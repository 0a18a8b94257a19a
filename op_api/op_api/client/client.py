"""`OpenPaymentsClient`: the resource groups of the official Node SDK, async and typed."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import httpx

from op_api.client.http import OpenPaymentsHttp
from op_api.client.keys import SigningKey, load_private_key, load_private_key_file
from op_api.client.resources.grant import GrantRoutes
from op_api.client.resources.incoming_payment import IncomingPaymentRoutes
from op_api.client.resources.outgoing_payment import OutgoingPaymentRoutes
from op_api.client.resources.quote import QuoteRoutes
from op_api.client.resources.token import TokenRoutes
from op_api.client.resources.wallet_address import WalletAddressRoutes
from op_api.client.signing import RequestSigner
from op_api.client.urls import normalize_url


class OpenPaymentsClient:
    """An authenticated client identifying itself by `wallet_address_url` and signing with `key`.

    ```python
    key = SigningKey(key_id, load_private_key(pem_or_base64))
    async with OpenPaymentsClient("https://wallet.example/platform", key) as op:
        wallet = await op.wallet_address.get("https://wallet.example/alice")
    ```
    """

    def __init__(
        self,
        wallet_address_url: str,
        key: SigningKey,
        *,
        http_client: httpx.AsyncClient | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        self.wallet_address_url = normalize_url(wallet_address_url).rstrip("/")
        self.key = key
        self.http = OpenPaymentsHttp(
            signer=RequestSigner(key),
            http_client=http_client,
            allow_insecure_http=allow_insecure_http,
        )
        self.wallet_address = WalletAddressRoutes(self.http)
        self.grant = GrantRoutes(self.http, self.wallet_address_url)
        self.token = TokenRoutes(self.http)
        self.incoming_payment = IncomingPaymentRoutes(self.http)
        self.quote = QuoteRoutes(self.http)
        self.outgoing_payment = OutgoingPaymentRoutes(self.http)

    @classmethod
    def from_key_material(
        cls,
        wallet_address_url: str,
        key_id: str,
        *,
        private_key: str | bytes | None = None,
        private_key_path: str | Path | None = None,
        **kwargs: object,
    ) -> OpenPaymentsClient:
        """Key from PEM text, base64-encoded PEM, or a PEM file."""
        if private_key is not None:
            secret = load_private_key(private_key)
        elif private_key_path is not None:
            secret = load_private_key_file(private_key_path)
        else:
            raise ValueError("pass private_key or private_key_path")
        return cls(wallet_address_url, SigningKey(key_id, secret), **kwargs)  # type: ignore[arg-type]

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> OpenPaymentsClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
