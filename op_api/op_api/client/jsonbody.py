"""Request bodies serialized exactly as JavaScript's `JSON.stringify` would write them.

Rafiki checks Content-Digest over `JSON.stringify(JSON.parse(body))`, so the bytes we sign must
already be in that form: compact separators, non-ASCII characters kept as UTF-8 (no `\\u00e9`
escapes), and no floats (amounts are integer strings; a float's repr differs between languages).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class BodyEncodingError(ValueError):
    """The body holds something JSON.stringify would write differently (a float, a NaN)."""


def _check(value: Any, path: str) -> None:
    if isinstance(value, float):
        raise BodyEncodingError(f"{path}: floats are not allowed in Open Payments bodies")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise BodyEncodingError(f"{path}: object keys must be strings")
            _check(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")


def compact_json(body: Mapping[str, Any]) -> bytes:
    """UTF-8 bytes of `body` as `JSON.stringify(body)` writes them."""
    _check(body, "$")
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")
