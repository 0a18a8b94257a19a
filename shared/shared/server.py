"""Run a service under uvicorn from its console script, with a clear message on bad settings."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import uvicorn
from pydantic import ValidationError

from shared.logging import configure_logging
from shared.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def load_or_exit(factory: Callable[[], S], service: str) -> S:
    """Load settings; on error print which variables are wrong (never their values) and exit 2."""
    try:
        return factory()
    except ValidationError as exc:
        lines = [f"{service}: cannot start, the configuration is incomplete or invalid:"]
        for error in exc.errors():
            name = "_".join(str(p) for p in error["loc"]).upper() or "(settings)"
            lines.append(f"  - {name}: {error['msg']}")
        lines.append("Set them in the environment or in a .env file (see README.md).")
        print("\n".join(lines), file=sys.stderr)
        raise SystemExit(2) from None


def serve(
    app_path: str,
    factory: Callable[[], ServiceSettings],
    service: str,
    preflight: Callable[[Any], None] | None = None,
) -> None:
    """Validate settings first (fail fast), then hand over to uvicorn.

    `preflight(settings)` may raise ValueError for what pydantic cannot check alone (a key file
    that does not parse, a combination of settings): the message is printed and we exit 2.
    """
    settings = load_or_exit(factory, service)
    if preflight is not None:
        try:
            preflight(settings)
        except ValueError as exc:
            print(f"{service}: cannot start: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    configure_logging(service, settings.log_level)
    uvicorn.run(
        app_path,
        host=settings.host,
        port=settings.port,
        log_config=None,
        ws="none",  # no service here speaks WebSocket: its protocol module is never loaded
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )
