"""System messages and edits, signed as Meta sends them: an identity change cancels the payment
waiting for confirmation, an edit of the payment's message is answered, a user-id change moves a
user known only by that id."""

from __future__ import annotations

import time
from typing import Any

from sandbox.phone import meta
from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import PHONE_ID, Stack, buttons_of, post_signed, text_of


def _system(wa_id: str, message: dict[str, Any], with_contact: bool = True) -> dict[str, Any]:
    update = meta.message_update(
        phone_id=PHONE_ID, display_phone="15550001234", wa_id=wa_id, name="", messages=[message]
    )
    if not with_contact:
        update["entry"][0]["changes"][0]["value"].pop("contacts")
    return update


def _summary(stack: Stack, wa_id: str) -> dict[str, Any]:
    n = stack.phone.count(wa_id)
    sent = stack.phone.say(wa_id, "send 2 to " + pointer(stack.wallet("bob")))
    stack.phone.wait_for(wa_id, lambda m: "Confirm" in buttons_of(m), after=n)
    return sent


def test_identity_change_cancels_the_payment_waiting_for_confirmation(
    stack: Stack, uid, payments_api
) -> None:
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Sol", pointer(stack.wallet("alice")))
    sent = _summary(stack, wa_id)
    n = phone.count(wa_id)
    now = str(int(time.time()))
    message = {
        "from": wa_id,
        "id": f"wamid.identity{wa_id}",
        "timestamp": now,
        "type": "system",
        "identity": {"acknowledged": True, "created_timestamp": now, "hash": "h4sh"},
        "system": {"body": "User identity changed", "type": "customer_identity_changed"},
    }
    assert post_signed(stack, _system(wa_id, message)).status_code == 200
    phone.wait_text(wa_id, "cancelled the payment", after=n)
    assert payments_api.for_key(sent["id"])["cancelled"]  # at op_api too
    n = phone.count(wa_id)
    phone.tap(wa_id, "Confirm")  # the old summary's button no longer pays
    answer = phone.wait_for(wa_id, lambda m: True, after=n)
    assert answer["body"].get("interactive", {}).get("type") != "cta_url"


def test_edit_of_the_payment_message_is_answered(stack: Stack, uid) -> None:
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Eli", pointer(stack.wallet("alice")))
    sent = _summary(stack, wa_id)
    n = phone.count(wa_id)
    edit = meta.message(
        wa_id,
        f"wamid.edit{wa_id}",
        "edit",
        {
            "original_message_id": sent["id"],
            "message": {"type": "text", "text": {"body": "send 5"}},
        },
    )
    assert post_signed(stack, _system(wa_id, edit)).status_code == 200
    answer = phone.wait_text(wa_id, "edited the message of the pending payment", after=n)
    assert "Cancel" in text_of(answer)


def test_user_id_change_moves_a_user_known_only_by_it(stack: Stack, uid) -> None:
    phone, wa_id = stack.phone, uid()
    old_id = meta.bsuid(wa_id)
    phone.act(wa_id, "Uma", type="text", text="hola", bsuidOnly=True)  # known as US.… only
    phone.wait_text(wa_id, "Paguito")
    new_id = "MX." + old_id.split(".", 1)[1]
    message = {
        "id": f"wamid.userid{wa_id}",
        "timestamp": str(int(time.time())),
        "type": "system",
        "system": {
            "body": f"User changed from {old_id} to {new_id}",
            "user_id": new_id,
            "previous_user_id": old_id,
            "type": "user_changed_user_id",
        },
    }
    assert post_signed(stack, _system(wa_id, message, with_contact=False)).status_code == 200
    deadline = time.monotonic() + 10
    while "user id changed" not in stack.bot.logs() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert '"moved": true' in stack.bot.logs().split("user id changed", 1)[1].split("\n", 1)[0]
