"""Message templates the fake Cloud API knows: loaded from definition files in the shape Meta's
template API takes (`POST /{waba_id}/message_templates`), checked and rendered on send."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.phone.limits import GraphError

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z0-9_]+)\s*\}\}")


@dataclass(frozen=True)
class TemplateDefinition:
    name: str
    language: str
    category: str
    body: str

    @property
    def params(self) -> set[str]:
        return set(_PLACEHOLDER.findall(self.body))

    def render(self, values: dict[str, str]) -> str:
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.body)


def parse(definition: dict[str, Any]) -> TemplateDefinition:
    body = next(
        (c["text"] for c in definition["components"] if str(c.get("type")).upper() == "BODY"), ""
    )
    return TemplateDefinition(
        name=str(definition["name"]),
        language=str(definition["language"]),
        category=str(definition["category"]),
        body=str(body),
    )


def load(directory: Path | None) -> dict[tuple[str, str], TemplateDefinition]:
    """Every *.json file in the directory: one definition or a list of them (one per language)."""
    known: dict[tuple[str, str], TemplateDefinition] = {}
    if directory is None or not directory.is_dir():
        return known
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for item in data if isinstance(data, list) else [data]:
            template = parse(item)
            known[(template.name, template.language)] = template
    return known


def render_send(known: dict[tuple[str, str], TemplateDefinition], content: dict[str, Any]) -> str:
    """The text the user sees for a `template` message, or the GraphError Meta would answer."""
    name = content.get("name")
    language = (content.get("language") or {}).get("code")
    template = known.get((str(name), str(language)))
    if template is None:
        raise GraphError(
            f"Template name does not exist in the translation: {name} ({language})",
            code=132001,
            status=404,
        )
    values: dict[str, str] = {}
    for component in content.get("components") or []:
        if str(component.get("type")).lower() != "body":
            continue
        for param in component.get("parameters") or []:
            text = param.get("text")
            if param.get("type") != "text" or not isinstance(text, str):
                raise GraphError("Template parameters must be text", code=132012)
            if "\n" in text or "\t" in text or "     " in text:
                raise GraphError(
                    "Param text cannot have new-line/tab characters or more than 4 spaces",
                    code=132018,
                )
            values[str(param.get("parameter_name"))] = text
    if set(values) != template.params:
        raise GraphError(
            "Number of parameters does not match the expected number of params", code=132000
        )
    return template.render(values)
