"""The platform's Open Payments client, built from settings (fails fast on a bad key)."""

from __future__ import annotations

from op_api.client import OpenPaymentsClient, SigningKey, load_private_key, load_private_key_file
from op_api.client.urls import ensure_allowed
from op_api.settings import Settings


class ConfigurationError(ValueError):
    """op_api cannot talk Open Payments with these settings (the message names the variable)."""


def signing_key(settings: Settings) -> SigningKey:
    if not settings.key_id:
        raise ConfigurationError("KEY_ID is not set")
    if settings.private_key_content is not None:
        key = load_private_key(settings.private_key_content.get_secret_value())
    elif settings.private_key_path is not None:
        key = load_private_key_file(settings.private_key_path)
    else:
        raise ConfigurationError("set PRIVATE_KEY_CONTENT or PRIVATE_KEY_PATH")
    return SigningKey(settings.key_id, key)


def platform_wallet_url(settings: Settings) -> str:
    if not settings.wallet_address_url:
        raise ConfigurationError("WALLET_ADDRESS_URL is not set")
    try:
        return ensure_allowed(
            settings.wallet_address_url, allow_insecure_http=settings.allow_insecure_http
        )
    except ValueError as exc:
        raise ConfigurationError(f"WALLET_ADDRESS_URL: {exc}") from exc


def check_configuration(settings: Settings) -> None:
    """Raise ConfigurationError naming the first missing or bad setting (run before serving)."""
    platform_wallet_url(settings)
    signing_key(settings)


def build_client(settings: Settings) -> OpenPaymentsClient:
    return OpenPaymentsClient(
        platform_wallet_url(settings),
        signing_key(settings),
        allow_insecure_http=settings.allow_insecure_http,
    )
