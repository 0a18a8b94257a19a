"""Repeats asked for in a message ("cada mes", "every week") → an ISO 8601 duration.

The gateway schedules or refuses a recurring payment; it must never run it once and forget the
rest, so every phrasing read here is reported, and an unknown one is better than a wrong one.
"""

from __future__ import annotations

import re

from llm_back.numbers import UNITS, fold

# Folded text (lower case, no accents). Longer phrases first where one contains another.
# Bare "a week" / "al día" are left out: "20 for a week of lunches" is not a schedule.
_FIXED: tuple[tuple[str, str], ...] = (
    (r"cada quincena|quincenal(?:mente)?|cada dos semanas|every (?:two|other) weeks?"
     r"|bi-?weekly|fortnightly|every fortnight", "P2W"),
    (r"cada mes|todos los meses|mensual(?:mente)?|(?:every|each) month|monthly|al mes"
     r"|per month|por mes", "P1M"),
    (r"cada semana|todas las semanas|semanal(?:mente)?|(?:every|each) week|weekly|a la semana"
     r"|por semana|per week"
     r"|(?:cada|todos los) (?:lunes|martes|miercoles|jueves|viernes|sabados?|domingos?)"
     r"|every (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)", "P1W"),
    (r"cada dia|todos los dias|diariamente|(?:every|each) day|daily|per day", "P1D"),
    (r"cada ano|todos los anos|anual(?:mente)?|(?:every|each) year|yearly|annually|al ano"
     r"|per year", "P1Y"),
)  # fmt: skip
_PATTERNS = [(re.compile(rf"\b(?:{p})\b"), d) for p, d in _FIXED]
_EVERY_N = re.compile(
    r"\b(?:cada|every)\s+(\d{1,3}|[a-z]+)\s+"
    r"(dias?|days?|semanas?|weeks?|mes(?:es)?|months?|anos?|years?)\b"
)
_UNIT = {"d": "D", "s": "W", "w": "W", "m": "M", "a": "Y", "y": "Y"}


def recurrence(text: str) -> str | None:
    """ "mándale 10 a Bob cada mes" → "P1M"; "every 2 weeks" → "P2W"; no repeat → None."""
    folded = fold(text)
    m = _EVERY_N.search(folded)
    if m is not None:
        raw, unit = m.groups()
        count = int(raw) if raw.isdigit() else UNITS.get(raw)
        if count is not None and count > 0:
            letter = _UNIT["m" if unit.startswith("mes") or unit.startswith("mo") else unit[0]]
            return f"P{count}{letter}"
    for pattern, duration in _PATTERNS:
        if pattern.search(folded):
            return duration
    return None


def without_cadence(name: str) -> str:
    """ "bob cada mes" → "bob": a cadence said right after a lower-case name is not part of it."""
    words = name.split()
    if len(words) > 1 and fold(words[-1]) in {"cada", "every", "each"}:
        return " ".join(words[:-1])  # "juan cada" of "a juan cada 2 semanas": the number ended it
    for k in range(min(4, len(words) - 1), 0, -1):
        tail = fold(" ".join(words[-k:]))
        if _EVERY_N.fullmatch(tail) or any(p.fullmatch(tail) for p, _ in _PATTERNS):
            return " ".join(words[:-k])
    return name


# A limit is per period even when said barely: "50 a week", "30 semanales", "20 al día".
_PER = (
    (r"a day|al dia|diarios?|diarias?", "P1D"),
    (r"a week|semanales", "P1W"),
    (r"a month|mensuales", "P1M"),
    (r"a year|anuales", "P1Y"),
)
_PER_PATTERNS = [(re.compile(rf"\b(?:{p})\b"), d) for p, d in _PER]


def period(text: str) -> str | None:
    """The period of a spending limit: `recurrence`, or a bare "a week" / "semanales"."""
    found = recurrence(text)
    if found is not None:
        return found
    folded = fold(text)
    return next((d for pattern, d in _PER_PATTERNS if pattern.search(folded)), None)
