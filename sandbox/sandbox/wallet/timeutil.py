"""Timestamps: Unix seconds inside, RFC 3339 with milliseconds and `Z` on the wire."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(ts: float) -> str:
    return (
        datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def parse_iso(text: str) -> float:
    """Raises ValueError for anything that is not a date-time with a time zone."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError("date-time needs a time zone")
    return parsed.timestamp()
