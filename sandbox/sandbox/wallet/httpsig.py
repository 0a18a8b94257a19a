"""RFC 9421 signature checks done the way Rafiki does them (not shared with op_api's signer).

Rafiki rebuilds the signature base from the raw `Signature-Input` (label `sig1`), demands
lower-case components including `@method` and `@target-uri`, `authorization` whenever that
header is sent, and verifies `Content-Digest` over `JSON.stringify(JSON.parse(body))` — so a
body whose bytes are not compact JSON fails. This sandbox also insists that a request with a
body covers `content-digest`, `content-length` and `content-type`, and that `created` is recent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

LABEL = "sig1"
_MEMBER = re.compile(r'(?:^|,)\s*sig1=(\(([^)]*)\)((?:;[a-z0-9_.*-]+=(?:"[^"\\]*"|-?\d+))*))')
_PARAM = re.compile(r';([a-z0-9_.*-]+)=("[^"\\]*"|-?\d+)')
_COMPONENT = re.compile(r'^"([^"\\]+)"$')
_SIGNATURE = re.compile(r"(?:^|,)\s*sig1=:([A-Za-z0-9+/=]*):")
_DIGEST_ENTRY = re.compile(r"^\s*([a-z0-9-]+)=:([A-Za-z0-9+/=]*):\s*$")
_DIGESTS = {"sha-512": hashlib.sha512, "sha-256": hashlib.sha256}
BODY_COMPONENTS = ("content-digest", "content-length", "content-type")
DERIVED = frozenset({"@method", "@target-uri"})


class SignatureHeadersError(ValueError):
    """The signature headers are missing, malformed, or do not cover what they must."""


@dataclass(frozen=True)
class SignatureInput:
    components: tuple[str, ...]
    params_text: str  # the serialized inner list and parameters, as signed
    keyid: str | None
    created: int | None
    signature: bytes


@dataclass(frozen=True)
class SignedRequest:
    method: str
    target_uris: Sequence[str]  # the URL as seen here, and as seen through the public URL
    headers: Mapping[str, str]  # lower-case names
    body: bytes


def canonical_json(body: bytes) -> bytes:
    """The bytes JavaScript's `JSON.stringify(JSON.parse(body))` would produce (close enough)."""
    parsed = json.loads(body)
    return json.dumps(parsed, separators=(",", ":"), ensure_ascii=False).encode()


def parse_signature_headers(request: SignedRequest) -> SignatureInput:
    """Rafiki's `validateSignatureHeaders`, plus the sandbox's stricter body rules."""
    sig_input = request.headers.get("signature-input")
    sig_header = request.headers.get("signature")
    if not sig_input or not sig_header:
        raise SignatureHeadersError("missing Signature or Signature-Input")
    member = _MEMBER.search(sig_input)
    sig_match = _SIGNATURE.search(sig_header)
    if member is None or sig_match is None:
        raise SignatureHeadersError("no sig1 signature")
    components: list[str] = []
    for item in member.group(2).split():
        match = _COMPONENT.match(item)
        if match is None:
            raise SignatureHeadersError(f"bad component {item!r}")
        components.append(match.group(1))
    params = {k: v for k, v in _PARAM.findall(member.group(3))}
    if any(c != c.lower() for c in components):
        raise SignatureHeadersError("components must be lower case")
    if "@method" not in components or "@target-uri" not in components:
        raise SignatureHeadersError("@method and @target-uri must be covered")
    # Rafiki rebuilds no other derived component (it would sign `undefined`): refuse them.
    if any(c.startswith("@") and c not in DERIVED for c in components):
        raise SignatureHeadersError("only @method and @target-uri are supported")
    if "authorization" in request.headers and "authorization" not in components:
        raise SignatureHeadersError("authorization must be covered")
    has_body = bool(request.body.strip())
    if has_body and not all(c in components for c in BODY_COMPONENTS):
        raise SignatureHeadersError("a body needs content-digest, content-length, content-type")
    if "content-digest" in components:
        if not has_body or not all(request.headers.get(c) for c in BODY_COMPONENTS):
            raise SignatureHeadersError("content headers missing")
        if not verify_content_digest(request.body, request.headers["content-digest"]):
            raise SignatureHeadersError("Content-Digest does not match the body")
    for component in components:
        if not component.startswith("@") and component not in request.headers:
            raise SignatureHeadersError(f"covered header {component!r} is missing")
    try:
        signature = base64.b64decode(sig_match.group(1), validate=True)
    except binascii.Error as exc:
        raise SignatureHeadersError("signature is not base64") from exc
    keyid = params.get("keyid")
    created = params.get("created")
    return SignatureInput(
        components=tuple(components),
        params_text=member.group(1),
        keyid=keyid.strip('"') if keyid and keyid.startswith('"') else None,
        created=int(created) if created and not created.startswith('"') else None,
        signature=signature,
    )


def verify_content_digest(body: bytes, header: str) -> bool:
    """Every sha-256/sha-512 entry must match the digest of the re-serialized JSON body."""
    try:
        digested = canonical_json(body)
    except (ValueError, UnicodeError):
        return False
    checked = 0
    for entry in header.split(","):
        match = _DIGEST_ENTRY.match(entry)
        if match is None:
            return False
        algorithm = _DIGESTS.get(match.group(1))
        if algorithm is None:
            continue
        try:
            claimed = base64.b64decode(match.group(2), validate=True)
        except binascii.Error:
            return False
        if not hmac.compare_digest(claimed, algorithm(digested).digest()):
            return False
        checked += 1
    return checked > 0


def signature_base(parsed: SignatureInput, request: SignedRequest, target_uri: str) -> bytes:
    lines = []
    for component in parsed.components:
        if component == "@method":
            value = request.method.upper()
        elif component == "@target-uri":
            value = target_uri
        else:
            value = request.headers[component]
        lines.append(f'"{component}": {value}')
    lines.append(f'"@signature-params": {parsed.params_text}')
    return "\n".join(lines).encode()


def verify_signature(
    parsed: SignatureInput,
    request: SignedRequest,
    key: Ed25519PublicKey,
    *,
    max_age_seconds: int,
    now: float | None = None,
) -> bool:
    """Ed25519 over the signature base (no pre-hash), with a fresh-enough `created`."""
    current = time.time() if now is None else now
    if parsed.created is None or not -60 <= current - parsed.created <= max_age_seconds:
        return False
    for target in dict.fromkeys(request.target_uris):
        try:
            key.verify(parsed.signature, signature_base(parsed, request, target))
            return True
        except InvalidSignature:
            continue
    return False
