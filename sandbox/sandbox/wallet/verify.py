"""Signature checks for the auth server and the resource server, with Rafiki's error answers."""

from __future__ import annotations

from fastapi import Request

from sandbox.wallet.clients import client_jwks, client_key
from sandbox.wallet.errors import GNAPError, RSError
from sandbox.wallet.httpsig import (
    SignatureHeadersError,
    SignatureInput,
    SignedRequest,
    parse_signature_headers,
    verify_signature,
)
from sandbox.wallet.keys import public_key_from_x
from sandbox.wallet.state import WalletState


def signed_request(state: WalletState, request: Request, body: bytes) -> SignedRequest:
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    public = (
        state.config.base + raw_path.decode("latin-1") + ("?" + query.decode() if query else "")
    )
    return SignedRequest(
        method=request.method,
        target_uris=[str(request.url), public],
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
    )


def require_gnap_signature_headers(
    state: WalletState, request: Request, body: bytes
) -> tuple[SignedRequest, SignatureInput]:
    """Rafiki checks the signature headers before it looks up grants or tokens."""
    signed = signed_request(state, request, body)
    try:
        return signed, parse_signature_headers(signed)
    except SignatureHeadersError as exc:
        raise GNAPError(401, "invalid_client", f"invalid signature headers: {exc}") from exc


async def check_gnap_signature(
    state: WalletState, request: Request, body: bytes, client: str
) -> None:
    """Auth server: 401 bad headers or signature, 400 when the key id is not the client's."""
    signed, parsed = require_gnap_signature_headers(state, request, body)
    if not parsed.keyid:
        raise GNAPError(401, "invalid_client", "invalid signature input")
    key = await client_key(state, client, parsed.keyid)
    if key is None:
        raise GNAPError(400, "invalid_client", "could not determine client")
    if not verify_signature(
        parsed, signed, key, max_age_seconds=state.config.signature_max_age_seconds
    ):
        raise GNAPError(401, "invalid_client", "invalid signature")


async def check_rs_signature(
    state: WalletState, request: Request, body: bytes, client: str
) -> None:
    """Resource server: every failure is a 401, as in Rafiki's `throwIfSignatureInvalid`."""
    signed = signed_request(state, request, body)
    try:
        parsed = parse_signature_headers(signed)
    except SignatureHeadersError as exc:
        if not signed.headers.get("signature-input"):
            raise RSError(
                401, "Signature validation error: missing keyId in signature input"
            ) from exc
        raise RSError(
            401, "Signature validation error: provided signature is invalid", {"reason": str(exc)}
        ) from exc
    if not parsed.keyid:
        raise RSError(401, "Signature validation error: missing keyId in signature input")
    jwks = await client_jwks(state, client)
    if jwks is None:
        raise RSError(401, "Signature validation error: could not retrieve client keys")
    match = next((k for k in jwks if k.get("kid") == parsed.keyid), None)
    if match is None:
        raise RSError(
            401,
            "Signature validation error: could not find key in list of client keys",
            {"keyIdInSignature": parsed.keyid},
        )
    try:
        key = public_key_from_x(str(match.get("x", "")))
    except ValueError as exc:
        raise RSError(401, "Signature validation error: provided signature is invalid") from exc
    if not verify_signature(
        parsed, signed, key, max_age_seconds=state.config.signature_max_age_seconds
    ):
        raise RSError(401, "Signature validation error: provided signature is invalid")
