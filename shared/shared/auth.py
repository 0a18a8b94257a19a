"""The internal bearer-token check every internal endpoint depends on."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

_bearer = HTTPBearer(auto_error=False, description="INTERNAL_API_TOKEN of the deployment")


def _expected_token(request: Request) -> str:
    settings = getattr(request.app.state, "settings", None)
    token = getattr(settings, "internal_api_token", None)
    return token.get_secret_value() if token is not None else ""


async def require_internal_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """401 unless `Authorization: Bearer <INTERNAL_API_TOKEN>` matches (constant-time)."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Missing internal token: send 'Authorization: Bearer <INTERNAL_API_TOKEN>'.",
            headers=challenge,
        )
    expected = _expected_token(request)
    given = credentials.credentials
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "Invalid internal token.", headers=challenge
        )


InternalAuth = Depends(require_internal_token)
