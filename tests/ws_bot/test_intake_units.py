"""`intake.from_raw`: what ws_bot reads from a payload pywa could not parse."""

from __future__ import annotations

from ws_bot.intake import from_raw

CONTACT = {"profile": {"name": "Ana"}, "user_id": "US.123"}


def _msg(**fields: object) -> dict[str, object]:
    return {"id": "wamid.1", "timestamp": "1700000000", **fields}


def test_texts_taps_and_picks_keep_their_meaning() -> None:
    text = from_raw(_msg(from_user_id="US.123", type="text", text={"body": "hola"}), CONTACT)
    assert text is not None
    assert (text.wa_id, text.name, text.kind, text.text) == ("US.123", "Ana", "text", "hola")
    assert text.timestamp == 1700000000.0
    tap = from_raw(
        _msg(
            type="interactive",
            interactive={"type": "button_reply", "button_reply": {"id": "pay:ok:1", "title": "OK"}},
        ),
        CONTACT,
    )
    assert tap is not None
    assert (tap.kind, tap.data, tap.text) == ("button", "pay:ok:1", "OK")
    pick = from_raw(
        _msg(
            type="interactive",
            interactive={"type": "list_reply", "list_reply": {"id": "lang:en", "title": "English"}},
        ),
        CONTACT,
    )
    assert pick is not None
    assert (pick.kind, pick.data) == ("selection", "lang:en")


def test_anything_else_is_other_and_senders_are_canonical() -> None:
    edit = from_raw(_msg(**{"from": "+52 1 55 1234 5678", "type": "edit", "edit": {}}), {})
    assert edit is not None
    assert (edit.wa_id, edit.kind, edit.text) == ("525512345678", "other", "")
    assert from_raw(_msg(type="text", text={"body": " "}), CONTACT).kind == "other"  # type: ignore[union-attr]
    assert from_raw(_msg(type="text", timestamp="soon"), CONTACT).timestamp == 0.0  # type: ignore[union-attr]
    assert from_raw(_msg(type="text"), {}) is None  # nobody to answer
