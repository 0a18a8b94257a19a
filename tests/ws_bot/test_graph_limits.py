"""ws_bot's message limits against the sandbox phone's (Meta's) checks, for any input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.phone.limits import check_interactive
from ws_bot import limits

titles = st.text(min_size=0, max_size=40)
ids = st.text(alphabet="abcdefghij:0123456789", min_size=1, max_size=200)


@given(st.lists(st.tuples(titles, ids), min_size=1, max_size=3, unique_by=lambda i: i[1]))
def test_any_buttons_pass_metas_checks(items: list[tuple[str, str]]) -> None:
    made = limits.buttons(items)
    buttons = [{"type": "reply", "reply": {"id": data, "title": title}} for title, data in made]
    check_interactive({"type": "button", "body": {"text": "b"}, "action": {"buttons": buttons}})


@given(st.lists(st.tuples(ids, titles, titles), min_size=1, max_size=15, unique_by=lambda r: r[0]))
def test_any_list_rows_pass_metas_checks(rows: list[tuple[str, str, str]]) -> None:
    made = limits.list_rows(rows)
    section = {
        "title": "s",
        "rows": [
            {"id": data, "title": title, **({"description": desc} if desc else {})}
            for data, title, desc in made
        ],
    }
    check_interactive(
        {"type": "list", "body": {"text": "b"}, "action": {"button": "Pick", "sections": [section]}}
    )


def test_repeated_ids_and_overlong_row_ids_are_caller_bugs() -> None:
    with pytest.raises(ValueError):
        limits.buttons([("Yes", "a"), ("No", "a")])
    with pytest.raises(ValueError):
        limits.list_rows([("x" * 201, "Row", "")])
    same = limits.buttons(
        [("Confirmar el pago ahora mismo", "1"), ("Confirmar el pago ahora ya", "2")]
    )
    assert same[0][0] != same[1][0]
    assert all(len(title) <= limits.MAX_BUTTON_TITLE for title, _ in same)
