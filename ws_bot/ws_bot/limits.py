"""Limits: WhatsApp's message limits (which pywa does not enforce) and the per-user rate limit."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

MAX_TEXT = 4096
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_CALLBACK_DATA = 256  # a reply button's id
MAX_ROW_ID = 200  # a list row's id (Meta: 200, not 256)
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


def callback_data(data: str, limit: int = MAX_CALLBACK_DATA) -> str:
    if not data or len(data) > limit:
        raise ValueError("callback data empty or longer than WhatsApp allows")
    return data


def unique_ids(ids: list[str]) -> list[str]:
    """Meta refuses repeated button or row ids; two options meaning one thing is a caller bug."""
    if len(set(ids)) != len(ids):
        raise ValueError(f"button/row ids must be unique: {ids}")
    return ids


def unique_titles(titles: list[str], limit: int) -> list[str]:
    """Titles clipped to `limit`, made distinct (Meta refuses repeats, which clipping can make)."""
    seen: set[str] = set()
    out = []
    for title in titles:
        candidate, n = clip(title, limit) or "…", 1
        while candidate in seen:
            n += 1
            suffix = f" ({n})"
            candidate = clip(title, limit - len(suffix)).rstrip("…") + suffix
        seen.add(candidate)
        out.append(candidate)
    return out


def buttons(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """At most 3 reply buttons, titles clipped and distinct; a longer list is a caller bug."""
    if not 1 <= len(items) <= MAX_BUTTONS:
        raise ValueError(f"WhatsApp allows 1 to {MAX_BUTTONS} reply buttons, got {len(items)}")
    ids = unique_ids([callback_data(data) for _, data in items])
    return list(
        zip(unique_titles([title for title, _ in items], MAX_BUTTON_TITLE), ids, strict=True)
    )


def list_rows(rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """(callback data, title, description) rows: at most 10, ids unique, titles distinct."""
    kept = rows[:MAX_LIST_ROWS]
    ids = unique_ids([callback_data(data, MAX_ROW_ID) for data, _, _ in kept])
    titles = unique_titles([title for _, title, _ in kept], MAX_ROW_TITLE)
    return [
        (data, title, clip(desc, MAX_ROW_DESCRIPTION))
        for data, title, (_, _, desc) in zip(ids, titles, kept, strict=True)
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
