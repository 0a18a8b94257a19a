"""Message templates: what ws_bot sends when it starts a conversation outside the 24-hour window.

The definitions live in `wa_templates/*.json`, one file per template with one object per
language, each exactly the body Meta's template API takes (`POST /{waba_id}/message_templates`),
so an operator submits them as they are. Here they are loaded once and turned into the
`components` of a send (named body parameters).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ws_bot.texts import normalize_language

DEFINITIONS = Path(__file__).parent / "wa_templates"
TEMPLATE_LANGUAGES = ("es", "en")

PAYMENT_RECEIVED = "paguito_payment_received"
STAFF_NOTICE = "paguito_staff_notice"
PAYMENT_RESULT = "paguito_payment_result"
MONEY_REQUEST = "paguito_money_request"  # for money requests, once the bot can make them
WALLET_NOTICE = "paguito_wallet_notice"  # a wallet link taken over or revoked (issue 17)

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z0-9_]+)\s*\}\}")
# Meta refuses parameters with newlines, tabs or more than four spaces in a row; 1024 is the
# body's own limit, far above what one of ours needs.
_BLANKS = re.compile(r"\s+")
MAX_PARAM = 900


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    body: str

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_PLACEHOLDER.findall(self.body)))

    def render(self, values: dict[str, str]) -> str:
        return _PLACEHOLDER.sub(lambda m: param_text(values[m.group(1)]), self.body)


@cache
def definitions() -> dict[tuple[str, str], Template]:
    known: dict[tuple[str, str], Template] = {}
    for path in sorted(DEFINITIONS.glob("*.json")):
        for item in json.loads(path.read_text(encoding="utf-8")):
            body = next(c["text"] for c in item["components"] if c["type"] == "BODY")
            known[(item["name"], item["language"])] = Template(item["name"], item["language"], body)
    return known


def language_for(lang: str | None) -> str:
    code = normalize_language(lang)
    return code if code in TEMPLATE_LANGUAGES else TEMPLATE_LANGUAGES[0]


def get(name: str, lang: str | None) -> Template:
    return definitions()[(name, language_for(lang))]


def param_text(value: str) -> str:
    """A value as a template parameter may carry it: one line, no long runs of spaces."""
    text = _BLANKS.sub(" ", value).strip() or "-"
    return text if len(text) <= MAX_PARAM else text[: MAX_PARAM - 1] + "…"


def components(template: Template, values: dict[str, str]) -> list[dict[str, Any]]:
    """The `components` of a send: every named body parameter, filled (KeyError if missing)."""
    parameters = [
        {"type": "text", "parameter_name": name, "text": param_text(values[name])}
        for name in template.params
    ]
    return [{"type": "body", "parameters": parameters}]
