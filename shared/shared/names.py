"""Names that come from outside (a wallet's `publicName`, a contact card) are data, not layout.

They are shown inside our own messages, so a name must not be able to add lines, fake a summary
("• Leaves your wallet: 5.00") or push the real lines out of a length-limited message.
"""

from __future__ import annotations

import unicodedata

MAX_NAME = 64
# Control, format (bidi overrides, zero-width), line/paragraph separators, unassigned, private use.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cn", "Co", "Cs"})


def clean_name(name: object, max_length: int = MAX_NAME) -> str | None:
    """`name` on one line: control characters dropped, whitespace runs made one space, at most
    `max_length` characters (an ellipsis marks a cut). None when nothing printable is left."""
    if name is None:
        return None
    text = str(name)[: max_length * 8]  # bound the work before looking at characters
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char.isspace() or category in ("Zs", "Zl", "Zp"):
            kept.append(" ")
        elif category not in _DROPPED_CATEGORIES:
            kept.append(char)
    words = "".join(kept).split()
    single = " ".join(words)
    if not single:
        return None
    if len(single) > max_length:
        single = single[: max_length - 1].rstrip() + "…"
    return single
