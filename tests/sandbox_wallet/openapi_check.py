"""Validate recorded wallet exchanges against the official Open Payments OpenAPI specs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request.exceptions import SecurityValidationError
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.support.node import openapi_spec

# The specs' own server URLs: each recorded path is replayed under them.
SERVERS = {
    "auth": ("auth-server", "https://auth.interledger-test.dev"),
    "resource": ("resource-server", "https://ilp.interledger-test.dev"),
    "wallet": ("wallet-address-server", "https://ilp.interledger-test.dev"),
}


@dataclass
class _Request:
    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters = field(default_factory=RequestParameters)


@dataclass
class _Response:
    status_code: int
    data: bytes | None
    headers: Headers
    content_type: str


@cache
def _spec(name: str) -> tuple[OpenAPI, dict[str, Any]]:
    raw = yaml.safe_load(openapi_spec(name).read_text())
    return OpenAPI.from_dict(_ref_siblings_ignored(raw)), raw


def _ref_siblings_ignored(node: Any) -> Any:
    """Drop `additionalProperties` written beside a `$ref`, as the official client does.

    The specs say `items: {$ref: incoming-payment, additionalProperties: false}`; under strict
    JSON Schema 2020-12 that forbids every property of a listed payment, so no real list could
    pass. The official client's validator ignores such siblings (OpenAPI 3.0 reading).
    """
    if isinstance(node, dict):
        if "$ref" in node:
            node = {k: v for k, v in node.items() if k != "additionalProperties"}
        return {k: _ref_siblings_ignored(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_ref_siblings_ignored(v) for v in node]
    return node


def _spec_path(kind: str, path: str) -> str:
    if kind == "auth":
        return path.removeprefix("/auth") or "/"
    if kind == "wallet":
        # /bob/jwks.json → "/jwks.json" under the spec's server …/alice
        _name, _, rest = path.lstrip("/").partition("/")
        return f"/alice/{rest}"
    return path


def _documented(raw: dict[str, Any], method: str, path: str, status: int) -> bool:
    """Whether the spec describes this status for the operation (else there is no schema)."""
    for template, operations in raw["paths"].items():
        pattern = template.replace("{id}", "[^/]+")
        if re.fullmatch(pattern, path) and method in operations:
            return str(status) in operations[method].get("responses", {})
    return False


def validate(exchange: dict[str, Any], *, request: bool = True) -> list[str]:
    """Problems found in one exchange (empty when it conforms)."""
    kind = exchange["kind"]
    name, host = SERVERS[kind]
    api, raw = _spec(name)
    path = _spec_path(kind, exchange["path"])
    headers = Headers(list(exchange["request_headers"].items()))
    body = exchange["request_body"].encode() or None
    req = _Request(
        host_url=host,
        path=path,
        method=exchange["method"].lower(),
        body=body,
        content_type=headers.get("content-type", "") if body else "",
        parameters=RequestParameters(
            query=ImmutableMultiDict(parse_qsl(exchange["query"])),
            header=headers,
            cookie=ImmutableMultiDict(),
        ),
    )
    problems = []
    if request:
        try:
            api.validate_request(req)
        except SecurityValidationError:
            # Public incoming-payment reads carry no token (the spec's signature is optional).
            if not (kind == "resource" and req.method == "get" and "authorization" not in headers):
                problems.append(f"request {exchange['method']} {exchange['path']}: no GNAP token")
        except Exception as exc:
            problems.append(f"request {exchange['method']} {exchange['path']}: {_explain(exc)}")
    status = int(exchange["status"])
    spec_path = path if kind != "wallet" else "/" + path.split("/", 2)[2]
    if not _documented(raw, req.method, spec_path, status):
        return problems
    response_headers = Headers(list(exchange["response_headers"].items()))
    resp = _Response(
        status_code=status,
        data=exchange["response_body"].encode() or None,
        headers=response_headers,
        content_type=response_headers.get("content-type", ""),
    )
    try:
        api.validate_response(req, resp)
    except Exception as exc:
        problems.append(
            f"response {status} to {exchange['method']} {exchange['path']}: {_explain(exc)}"
        )
    return problems


def _explain(exc: Exception) -> str:
    causes = [str(exc)]
    inner = exc.__cause__
    while inner is not None:
        causes.append(str(inner)[:600])
        inner = inner.__cause__
    details = getattr(exc, "schema_errors", None) or getattr(exc.__cause__, "schema_errors", None)
    if details:
        causes += [str(e.message) for e in details]
    return " / ".join(causes)
