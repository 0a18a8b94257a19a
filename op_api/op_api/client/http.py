"""One signed Open Payments HTTP exchange: build, sign, send, decode or raise a typed error."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from op_api.client.errors import (
    InvalidResponseError,
    OpenPaymentsTransportError,
    error_from_response,
)
from op_api.client.jsonbody import compact_json
from op_api.client.signing import RequestSigner
from op_api.client.urls import ensure_allowed
from shared.untrusted import (
    ForbiddenAddressError,
    UntrustedUrlError,
    send_capped,
    untrusted_client,
)

M = TypeVar("M", bound=BaseModel)
MAX_RESPONSE_BYTES = 256 * 1024  # the largest Open Payments answer is a page of a list
DEADLINE_SECONDS = 30.0  # a whole exchange, retries and a slowly sent body included


class OpenPaymentsHttp:
    """Sends requests the way the official Node client does.

    Every POST and every request carrying a GNAP token is signed; a plain GET (wallet address,
    JWKS) is not. POSTs are never retried here (a retry could create a second resource);
    `shared.http` retries idempotent methods on connection errors and 429/5xx.

    Every server here was named by someone else (a user's wallet document), so the default
    client is `shared.untrusted`'s: private addresses refused unless insecure HTTP is allowed
    (the sandbox), answers read up to `max_response_bytes`, each exchange within
    `deadline_seconds`.
    """

    def __init__(
        self,
        *,
        signer: RequestSigner | None,
        http_client: httpx.AsyncClient | None = None,
        allow_insecure_http: bool = False,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        deadline_seconds: float = DEADLINE_SECONDS,
    ) -> None:
        self.signer = signer
        self.allow_insecure_http = allow_insecure_http
        self.max_response_bytes = max_response_bytes
        self.deadline_seconds = deadline_seconds
        self._owns_client = http_client is None
        self.client = http_client or untrusted_client(allow_private=allow_insecure_http, retries=3)

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()

    def url(self, url: str) -> str:
        return ensure_allowed(url, allow_insecure_http=self.allow_insecure_http)

    async def request(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> httpx.Response:
        target = self.url(url)
        if params:
            target = self.url(str(httpx.URL(target).copy_merge_params(dict(params))))
        # identity: a compressed answer would be inflated before the byte cap could see it.
        headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
        authorization = f"GNAP {access_token}" if access_token else None
        if authorization:
            headers["Authorization"] = authorization
        content = compact_json(body) if body is not None else None
        parsed = httpx.URL(target)
        if method == "POST" or access_token:
            if self.signer is None:
                raise RuntimeError("this request must be signed: create the client with a key")
            # Signed before the request exists: one header build instead of five edits.
            headers.update(self.signer.headers_for(method, parsed, authorization, content))
        request = self.client.build_request(method, parsed, content=content, headers=headers)
        try:
            async with asyncio.timeout(self.deadline_seconds):
                response = await send_capped(self.client, request, self.max_response_bytes)
        except ForbiddenAddressError as exc:
            raise OpenPaymentsTransportError(
                f"{method} {target}: refused: {exc}", maybe_delivered=False
            ) from exc
        except UntrustedUrlError as exc:  # the answer was too large
            raise InvalidResponseError(f"{method} {target}: {exc}") from exc
        except TimeoutError as exc:
            raise OpenPaymentsTransportError(
                f"{method} {target}: no complete answer within {self.deadline_seconds:g} s"
            ) from exc
        except httpx.HTTPError as exc:
            raise OpenPaymentsTransportError(
                f"{method} {target}: {type(exc).__name__}: {exc}",
                maybe_delivered=not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout),
            ) from exc
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    async def json(
        self,
        model: type[M],
        method: str,
        url: str,
        **kwargs: Any,
    ) -> M:
        response = await self.request(method, url, **kwargs)
        return parse(model, response)


def parse(model: type[M], response: httpx.Response) -> M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise InvalidResponseError(
            f"{response.request.method} {response.request.url.copy_with(query=None)}: "
            f"unexpected {model.__name__} document ({exc.error_count()} problems: "
            f"{exc.errors()[0]['loc']} {exc.errors()[0]['msg']})"
        ) from exc
