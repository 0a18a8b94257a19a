"""An async Open Payments client (GNAP grants + resource server), independent of FastAPI.

Mirrors the official Node SDK: `client.wallet_address`, `client.grant`, `client.token`,
`client.incoming_payment`, `client.quote`, `client.outgoing_payment`. Requests are signed per
RFC 9421 with the platform's Ed25519 key; bodies are compact JSON exactly like JS.
"""

from op_api.client.client import OpenPaymentsClient
from op_api.client.errors import (
    Forbidden,
    InvalidClient,
    InvalidContinuation,
    InvalidRequest,
    InvalidResponseError,
    InvalidRotation,
    NotFound,
    OpenPaymentsError,
    OpenPaymentsHTTPError,
    OpenPaymentsTransportError,
    RequestDenied,
    TooFast,
    Unauthorized,
)
from op_api.client.keys import KeyLoadError, SigningKey, load_private_key, load_private_key_file
from op_api.client.resources.paging import Pagination
from op_api.client.urls import InsecureUrlError, normalize_url

__all__ = [
    "Forbidden",
    "InsecureUrlError",
    "InvalidClient",
    "InvalidContinuation",
    "InvalidRequest",
    "InvalidResponseError",
    "InvalidRotation",
    "KeyLoadError",
    "NotFound",
    "OpenPaymentsClient",
    "OpenPaymentsError",
    "OpenPaymentsHTTPError",
    "OpenPaymentsTransportError",
    "Pagination",
    "RequestDenied",
    "SigningKey",
    "TooFast",
    "Unauthorized",
    "load_private_key",
    "load_private_key_file",
    "normalize_url",
]
