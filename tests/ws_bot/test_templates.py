"""Template definitions ship complete and in the shape Meta's template API takes; the window."""

from __future__ import annotations

import json
import re

import pytest

from ws_bot import templates, window
from ws_bot.texts import t

NAMES = (
    templates.PAYMENT_RECEIVED,
    templates.STAFF_NOTICE,
    templates.PAYMENT_RESULT,
    templates.MONEY_REQUEST,
    templates.WALLET_NOTICE,
)


@pytest.mark.parametrize("name", NAMES)
def test_each_template_is_defined_in_both_languages_as_meta_takes_it(name: str) -> None:
    items = json.loads((templates.DEFINITIONS / f"{name}.json").read_text(encoding="utf-8"))
    assert sorted(i["language"] for i in items) == ["en", "es"]
    params = set()
    for item in items:
        assert set(item) == {"name", "language", "category", "parameter_format", "components"}
        assert item["name"] == name
        assert re.fullmatch(r"[a-z0-9_]{1,512}", item["name"])
        assert item["category"] == "UTILITY"
        assert item["parameter_format"] == "NAMED"
        (body,) = item["components"]
        assert body["type"] == "BODY"
        assert len(body["text"]) <= 1024
        names = re.findall(r"\{\{([a-z0-9_]+)\}\}", body["text"])
        # Meta refuses a body that starts or ends with a variable, and needs an example of each.
        assert not body["text"].startswith("{{")
        assert not body["text"].endswith("}}")
        examples = body["example"]["body_text_named_params"]
        assert [e["param_name"] for e in examples] == names
        params.add(tuple(sorted(names)))
    assert len(params) == 1  # both languages take the same parameters


def test_components_and_rendering_carry_one_line_values() -> None:
    chosen = templates.get(templates.PAYMENT_RECEIVED, "en-US")
    assert chosen.language == "en"
    assert templates.get(templates.PAYMENT_RECEIVED, "pt").language == "es"
    values = {"sender": "Ana\nMaría", "amount": "20.00     USD"}
    (body,) = templates.components(chosen, values)
    assert body["parameters"] == [
        {"type": "text", "parameter_name": "sender", "text": "Ana María"},
        {"type": "text", "parameter_name": "amount", "text": "20.00 USD"},
    ]
    # The template says what the free-form notice says.
    plain = {"sender": "Ana", "amount": "20.00 USD"}
    for lang in ("es", "en"):
        rendered = templates.get(templates.PAYMENT_RECEIVED, lang).render(plain)
        assert rendered == t(lang, "recipient_notice", **plain)
    with pytest.raises(KeyError):
        templates.components(chosen, {"sender": "Ana"})


def test_window_is_open_for_24_hours_minus_a_margin() -> None:
    now = 1_000_000.0
    assert not window.is_open(None, now)
    assert window.is_open(now - 60, now)
    assert window.is_open(now - 23 * 3600, now)
    assert not window.is_open(now - 24 * 3600 + 60, now)  # within the safety margin
    assert not window.is_open(now - 25 * 3600, now)
