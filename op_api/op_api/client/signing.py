"""RFC 9421 request signing the way Open Payments servers verify it.

Label `sig1`; components `@method @target-uri`, then `authorization` when sent, then
`content-digest content-length content-type` when there is a body; params `keyid` and `created`
(no `alg`, as the official Node utils); Content-Digest with sha-512. The `http-message-signatures`
library does the RFC work; this module only fixes those choices.
"""

from __future__ import annotations

from typing import Any

import httpx
from http_message_signatures import ContentDigest, HTTPMessageSigner, algorithms
from http_message_signatures import HTTPSignatureKeyResolver as _KeyResolver

from op_api.client.keys import SigningKey

SIGNATURE_LABEL = "sig1"
BODY_COMPONENTS = ("content-digest", "content-length", "content-type")


class Sha512ContentDigest(ContentDigest):
    algorithm = "sha-512"


class _Signer(HTTPMessageSigner):
    content_digest_class = Sha512ContentDigest


class _OneKey(_KeyResolver):
    def __init__(self, key: SigningKey) -> None:
        self._key = key

    def resolve_private_key(self, key_id: str) -> Any:
        if key_id != self._key.key_id:
            raise KeyError(key_id)
        return self._key.private_key

    def resolve_public_key(self, key_id: str) -> Any:
        return self._key.private_key.public_key()


def covered_components(request: httpx.Request, has_body: bool) -> list[str]:
    components = ["@method", "@target-uri"]
    if "authorization" in request.headers:
        components.append("authorization")
    if has_body:
        components.extend(BODY_COMPONENTS)
    return components


class RequestSigner:
    """Signs an `httpx.Request` in place (Signature, Signature-Input, Content-Digest)."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key
        self._signer = _Signer(signature_algorithm=algorithms.ED25519, key_resolver=_OneKey(key))

    def sign(self, request: httpx.Request, body: bytes | None) -> None:
        has_body = body is not None
        if has_body:
            request.headers["Content-Type"] = "application/json"
            request.headers["Content-Length"] = str(len(body or b""))
        self._signer.sign(
            request,
            key_id=self.key.key_id,
            label=SIGNATURE_LABEL,
            include_alg=False,
            covered_component_ids=covered_components(request, has_body),
            body=body,
        )
