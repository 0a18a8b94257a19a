"""Independent referees for our client: the official Node utils and the official OpenAPI specs."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

import httpx
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.support.node import NODE_DIR, ensure_node_packages, openapi_spec

# The specs' first server URL: paths are matched relative to it.
SPEC_SERVERS = {
    "auth-server": "https://auth.interledger-test.dev",
    "resource-server": "https://ilp.interledger-test.dev",
    "wallet-address-server": "https://ilp.interledger-test.dev/alice",
}


def _node(script: str, payload: Any) -> Any:
    ensure_node_packages()
    node = shutil.which("node")
    assert node, "node is required"
    done = subprocess.run(
        [node, str(NODE_DIR / script)],
        input=json.dumps(payload).encode(),
        capture_output=True,
        check=True,
        timeout=60,
    )
    return json.loads(done.stdout)


def request_record(request: httpx.Request, jwk: dict[str, str]) -> dict[str, Any]:
    body = request.content.decode("utf-8") if request.content else None
    return {
        "method": request.method,
        "url": str(request.url),
        "headers": {k.decode().lower(): v.decode() for k, v in request.headers.raw},
        "body": body,
        "jwk": jwk,
    }


def node_verify(requests: list[httpx.Request], jwk: dict[str, str]) -> list[dict[str, Any]]:
    """`validateSignatureHeaders` + `validateSignature` of @interledger/http-signature-utils."""
    result: list[dict[str, Any]] = _node(
        "verify-signature.mjs", [request_record(r, jwk) for r in requests]
    )
    return result


def node_finish_hashes(cases: list[dict[str, str]]) -> list[str]:
    result: list[str] = _node("finish-hash.mjs", cases)
    return result


@cache
def spec(name: str) -> OpenAPI:
    return OpenAPI.from_file_path(str(openapi_spec(name)))


@dataclass
class SpecRequest:
    """openapi-core's Request protocol for a captured httpx request, re-based on the spec server."""

    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters

    @property
    def full_url_pattern(self) -> str:
        return self.host_url + self.path


def validate_request(request: httpx.Request, spec_name: str, base_url: str) -> None:
    """Raise unless `request` (sent under `base_url`) is valid for the official spec."""
    url = str(request.url.copy_with(query=None))
    assert url.startswith(base_url.rstrip("/")), (url, base_url)
    path = url[len(base_url.rstrip("/")) :] or "/"
    headers = Headers([(k.decode(), v.decode()) for k, v in request.headers.raw])
    query = ImmutableMultiDict(parse_qsl(request.url.query.decode()))
    server = httpx.URL(SPEC_SERVERS[spec_name])
    spec_request = SpecRequest(
        host_url=f"{server.scheme}://{server.host}",
        path=server.path.rstrip("/") + path,
        method=request.method.lower(),
        body=request.content or None,
        content_type=request.headers.get("content-type", "application/json"),
        parameters=RequestParameters(query=query, header=headers, cookie=ImmutableMultiDict()),
    )
    spec(spec_name).validate_request(spec_request)
