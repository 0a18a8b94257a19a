"""Limits: WhatsApp's message limits (which pywa does not enforce) and the per-user rate limit."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

MAX_TEXT = 4096
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_CALLBACK_DATA = 256
MAX_LIST_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_SECTION_TITLE = 24
MAX_LIST_BUTTON = 20
MAX_HEADER = 60
MAX_FOOTER = 60
MAX_INTERACTIVE_BODY = 1024
MAX_REACTION_EMOJI = 8


def clip(text: str, limit: int) -> str:
    """Cut `text` to `limit` characters, marking the cut with an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def text_body(text: str) -> str:
    return clip(text, MAX_TEXT) or "…"


def interactive_body(text: str) -> str:
    return clip(text, MAX_INTERACTIVE_BODY) or "…"


def button_title(title: str) -> str:
    return clip(title, MAX_BUTTON_TITLE) or "…"


def callback_data(data: str) -> str:
    if len(data) > MAX_CALLBACK_DATA:
        raise ValueError("callback data longer than WhatsApp allows")
    return data


def buttons(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """At most 3 reply buttons, titles clipped; a longer list is a bug in the caller."""
    if not 1 <= len(items) <= MAX_BUTTONS:
        raise ValueError(f"WhatsApp allows 1 to {MAX_BUTTONS} reply buttons, got {len(items)}")
    return [(button_title(title), callback_data(data)) for title, data in items]


def list_rows(rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """(callback data, title, description) rows: at most 10, fields clipped."""
    return [
        (callback_data(data), clip(title, MAX_ROW_TITLE) or "…", clip(desc, MAX_ROW_DESCRIPTION))
        for data, title, desc in rows[:MAX_LIST_ROWS]
    ]


@dataclass
class RateLimiter:
    """Sliding window per user, in memory (per replica; enough to stop a flood).

    `hit` answers whether the message may be processed, and whether the user should be told
    they are limited (once per window, so a flood never turns into a flood of replies).
    """

    limit: int
    window: float
    _hits: dict[str, deque[float]] = field(default_factory=dict)
    _warned: dict[str, float] = field(default_factory=dict)

    def hit(self, key: str, now: float | None = None) -> tuple[bool, bool]:
        now = time.monotonic() if now is None else now
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) < self.limit:
            hits.append(now)
            return True, False
        warned_at = self._warned.get(key)
        if warned_at is None or warned_at <= now - self.window:
            self._warned[key] = now
            return False, True
        return False, False
