"""JSON logging: one object per line, every line carrying the service name and request id.

Secret values registered with `register_secret` are masked in every record, so a secret that
slips into an exception message still never reaches the logs.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from shared.request_id import get_request_id

_secrets: set[str] = set()
_MASK = "***"


def register_secret(value: str | None) -> None:
    """Mask `value` wherever it would appear in a log line. Short values are ignored."""
    if value and len(value) >= 6:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, _MASK)
    return text


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = get_request_id() or "-"
        record.__dict__.pop("color_message", None)  # uvicorn's ANSI copy of the message
        return True


class _RedactingFormatter(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every logger (uvicorn's too) through one JSON handler on stdout."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_ContextFilter(service))
    handler.setFormatter(
        _RedactingFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers = []
        lg.propagate = True
    # One access line per request comes from shared.app with the request id; uvicorn's would not.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("httpx", "httpcore", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # pywa logs every update it handles at INFO ("Finished processing update …"): four lines per
    # WhatsApp message (the message, then its sent, delivered and read statuses) that say
    # nothing ws_bot's own lines and metrics do not, at ~2% of the worker's CPU. Kept at DEBUG.
    chatty_level = logging.WARNING if root.level > logging.DEBUG else logging.NOTSET
    for chatty in ("pywa", "pywa_async"):
        logging.getLogger(chatty).setLevel(chatty_level)


def log_extra(**fields: Any) -> dict[str, Any]:
    """`logger.info("msg", extra=log_extra(payment_id=...))` — fields land as JSON keys."""
    return fields
