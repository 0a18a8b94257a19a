"""Run-time settings of the sandbox wallet, filled from the command line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DB_FILE = "wallet.sqlite3"
PLATFORM_WALLET = "paguito"
PLATFORM_KEY_FILE = "paguito-private-key.pem"
PLATFORM_KEY_ID_FILE = "paguito-key-id"
OP_API_ENV_FILE = "op_api.env"


@dataclass(frozen=True)
class WalletConfig:
    public_url: str
    data_dir: Path
    wait_seconds: int = 5
    settle_delay: float = 0.5
    token_ttl_seconds: int = 600
    quote_ttl_seconds: int = 300
    incoming_ttl_seconds: int = 30 * 24 * 3600
    interaction_ttl_seconds: int = 600
    signature_max_age_seconds: int = 300
    # Consent-page passwords given by the operator; the other wallets get random ones per run.
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return self.public_url.rstrip("/")

    @property
    def auth_url(self) -> str:
        """The `authServer` of every wallet here; also the grant URL in the finish hash."""
        return f"{self.base}/auth"

    @property
    def resource_url(self) -> str:
        return self.base

    def wallet_url(self, name: str) -> str:
        return f"{self.base}/{name}"

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_FILE
