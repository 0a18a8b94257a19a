"""op_api's hand-built signer against two referees.

- Oracle: the `http-message-signatures` library configured as op_api used it before (label sig1,
  sha-512 Content-Digest, explicit component list, no alg) must write byte-identical headers, in
  the same order, on random requests; where the library refuses a request, so does the signer.
- Referee: the official Node `@interledger/http-signature-utils` accepts what the signer writes.
"""

from __future__ import annotations

import datetime
from typing import Any

import httpx
import pytest
from http_message_signatures import ContentDigest, HTTPMessageSigner, algorithms
from http_message_signatures import HTTPSignatureKeyResolver as KeyResolver
from http_message_signatures.exceptions import HTTPMessageSignaturesException
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from op_api.client.jsonbody import compact_json
from op_api.client.keys import SigningKey
from op_api.client.signing import (
    SIGNATURE_LABEL,
    RequestSigner,
    SigningError,
    covered_components,
    target_uri,
)
from tests.op_api.referees import node_verify

KEY = SigningKey.generate("oracle-key")


class _Sha512ContentDigest(ContentDigest):
    algorithm = "sha-512"


class _LibrarySigner(HTTPMessageSigner):
    content_digest_class = _Sha512ContentDigest


class _OneKey(KeyResolver):
    def __init__(self, key: SigningKey) -> None:
        self._key = key

    def resolve_private_key(self, key_id: str) -> Any:
        assert key_id == self._key.key_id
        return self._key.private_key

    def resolve_public_key(self, key_id: str) -> Any:
        return self._key.private_key.public_key()


def library_sign(key: SigningKey, request: httpx.Request, body: bytes | None, created: int) -> None:
    """The oracle: op_api's signer as it was written on top of the library."""
    if body is not None:
        request.headers["Content-Type"] = "application/json"
        request.headers["Content-Length"] = str(len(body))
    _LibrarySigner(signature_algorithm=algorithms.ED25519, key_resolver=_OneKey(key)).sign(
        request,
        key_id=key.key_id,
        label=SIGNATURE_LABEL,
        include_alg=False,
        covered_component_ids=covered_components(request, body is not None),
        body=body,
        created=datetime.datetime.fromtimestamp(created, tz=datetime.UTC),
    )


_SEGMENT = st.text(
    alphabet=st.sampled_from("abcXYZ019-._~!$&'()*+,;=:@% é"), min_size=0, max_size=8
)
_QUERY = st.one_of(
    st.none(),
    st.just(""),
    st.lists(st.tuples(_SEGMENT, _SEGMENT), min_size=1, max_size=3).map(
        lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)
    ),
)


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["https", "http", "HTTPS"]))
    userinfo = draw(st.sampled_from(["", "user:pw@"]))
    host = draw(st.sampled_from(["wallet.example", "Auth.Example.COM", "127.0.0.1", "[::1]"]))
    port = draw(st.sampled_from(["", ":443", ":80", ":3000"]))
    segments = draw(st.lists(_SEGMENT, max_size=4))
    path = "".join("/" + s for s in segments)
    query = draw(_QUERY)
    fragment = draw(st.sampled_from(["", "#frag"]))
    return (
        f"{scheme}://{userinfo}{host}{port}{path}{'' if query is None else '?' + query}{fragment}"
    )


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_BODIES = st.one_of(
    st.none(),
    st.just(b""),
    st.dictionaries(st.text(max_size=8), _JSON, max_size=4).map(compact_json),
    st.binary(max_size=64),
)
_AUTHORIZATION = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).map(
        lambda t: f"GNAP {t}"
    ),
    # Whitespace to trim, tabs, and control characters both sides must refuse.
    st.text(alphabet=st.sampled_from("ab \t\x01\x7f"), max_size=10),
)
_KEY_IDS = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)


def _request(method: str, url: str, authorization: str | None, body: bytes | None) -> httpx.Request:
    headers = {"Accept": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return httpx.Request(method, url, headers=headers, content=body)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
    url=urls(),
    authorization=_AUTHORIZATION,
    body=_BODIES,
    key_id=_KEY_IDS,
    created=st.integers(min_value=0, max_value=4_102_444_800),
)
def test_headers_are_byte_identical_to_the_library(
    method: str, url: str, authorization: str | None, body: bytes | None, key_id: str, created: int
) -> None:
    key = SigningKey(key_id, KEY.private_key)
    ours, theirs = (_request(method, url, authorization, body) for _ in range(2))
    try:
        library_sign(key, theirs, body, created)
    except HTTPMessageSignaturesException:
        event("both refuse")
        with pytest.raises(SigningError):
            RequestSigner(key).sign(ours, body, created=created)
        return
    event("both sign")
    RequestSigner(key).sign(ours, body, created=created)
    assert ours.headers.raw == theirs.headers.raw


def test_target_uri_normalizes_as_rfc_9421_says() -> None:
    assert target_uri("https://h") == "https://h/"
    assert target_uri("https://h?") == "https://h/?"
    assert target_uri("https://u:p@h:8080/a?b=c#d") == "https://h:8080/a?b=c"
    assert target_uri("https://h", "OPTIONS") == "https://h"
    with pytest.raises(SigningError):
        target_uri("/relative/path")


def test_a_second_signature_replaces_the_first() -> None:
    request = _request("GET", "https://wallet.example/x", "GNAP t", None)
    signer = RequestSigner(KEY)
    signer.sign(request, None, created=1)
    signer.sign(request, None, created=2)
    assert request.headers.get_list("signature-input") == [
        'sig1=("@method" "@target-uri" "authorization");created=2;keyid="oracle-key"'
    ]
    assert len(request.headers.get_list("signature")) == 1


def _as_the_server_sees_it(request: httpx.Request) -> httpx.Request:
    """The verifier takes the URL literally; a server rebuilds it from the request line, where
    an empty path is already `/` (httpx sends `GET / HTTP/1.1`)."""
    url = request.url
    seen = f"{url.scheme}://{url.netloc.decode()}{url.raw_path.decode()}"
    return httpx.Request(request.method, seen, headers=request.headers, content=request.content)


@pytest.mark.node
def test_the_official_node_verifier_accepts_the_signer() -> None:
    signer = RequestSigner(KEY)
    requests = []
    for method in ("GET", "POST", "DELETE", "PUT"):
        for url in (
            "https://wallet.example",
            "https://wallet.example/",
            "https://wallet.example/outgoing-payments?wallet-address=https%3A%2F%2Fw%2Fa&first=5",
            "http://127.0.0.1:3000/incoming-payments/abc/complete?",
        ):
            for authorization in (None, "GNAP 3A1F9C2E7B6D4A58"):
                for body in (
                    None,
                    compact_json({"walletAddress": "https://w/a", "n": 1, "é": "ñ"}),
                ):
                    if method == "GET" and body is not None:
                        continue
                    request = _request(method, url, authorization, body)
                    signer.sign(request, body)
                    requests.append(request)
    results = node_verify([_as_the_server_sees_it(r) for r in requests], KEY.public_jwk())
    failures = [
        (r.method, str(r.url), "authorization" in r.headers, result)
        for r, result in zip(requests, results, strict=True)
        if not (result["headersValid"] and result["signatureValid"] and result["canonicalBody"])
    ]
    assert failures == []
    assert len(requests) == 56
