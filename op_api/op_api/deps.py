"""What the payment flows need, bundled once at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field

from op_api.caches import Caches
from op_api.client import OpenPaymentsClient
from op_api.link_store import LinkStore
from op_api.settings import Settings
from op_api.store import PaymentStore


class ServiceError(Exception):
    """A failure the caller should see as an HTTP status with a clear message."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


@dataclass
class Deps:
    settings: Settings
    client: OpenPaymentsClient
    store: PaymentStore
    caches: Caches = field(init=False)
    links: LinkStore = field(init=False)  # linked wallets, in the payments' database

    def __post_init__(self) -> None:
        self.caches = Caches(
            self.client,
            wallet_seconds=self.settings.wallet_cache_seconds,
            reuse_grants=self.settings.reuse_grants,
        )
        self.links = LinkStore(self.store)
