"""Identities: one key per person (phonenumbers, Mexico 52/521, Argentina 54/549, "+"), number
changes, and senders known only by their business-scoped user id (BSUID)."""

from __future__ import annotations

import httpx
import phonenumbers
from hypothesis import given
from hypothesis import strategies as st

from sandbox.phone import meta
from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import PHONE_ID, Stack, post_signed, text_of
from ws_bot.identity import canonical, is_bsuid

ten_digits = st.text(alphabet="0123456789", min_size=10, max_size=10).filter(
    lambda s: s[0] not in "01"
)


@given(ten_digits)
def test_mexican_mobile_forms_are_one_person(national: str) -> None:
    forms = [
        f"52{national}",
        f"521{national}",
        f"+52 1 {national}",
        f"+52 ({national[:2]}) {national[2:]}",
    ]
    assert {canonical(f) for f in forms} == {f"52{national}"}


@given(ten_digits)
def test_argentine_mobile_forms_are_one_person(national: str) -> None:
    forms = [f"54{national}", f"549{national}", f"+54 9 {national[:2]} {national[2:]}"]
    assert {canonical(f) for f in forms} == {f"549{national}"}


@given(st.text(alphabet="0123456789", min_size=7, max_size=15))
def test_canonical_is_idempotent_and_agrees_with_phonenumbers(digits: str) -> None:
    key = canonical(digits)
    assert canonical(key) == key
    assert canonical("+" + digits) == key
    try:
        parsed = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    stable = phonenumbers.format_number(
        phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.E164
    )
    if parsed.country_code not in (52, 54) and stable == e164:  # elsewhere: E.164 itself
        assert key == e164[1:]


def test_bsuids_and_non_numbers_are_kept() -> None:
    assert canonical(" US.13491208655302741918 ") == "US.13491208655302741918"
    assert is_bsuid("US.ENT.11815799212886844830")
    assert canonical("+1 (555) 000-1234") == "15550001234"


def _card_saves_known_user(stack: Stack, owner: str, phone_as_typed: str, name: str) -> None:
    n = stack.phone.count(owner)
    stack.phone.act(owner, type="contacts", contacts=[{"name": name, "phone": phone_as_typed}])
    saved = stack.phone.wait_text(owner, f"Saved {name}", after=n)
    assert "on Paguito" in text_of(saved)  # found as a user: no wallet question


def test_52_521_and_54_549_forms_match(stack: Stack, uid) -> None:
    phone = stack.phone
    mexican, argentine, owner = "5215512340001", "5491123450001", uid()
    phone.onboard(mexican, "Memo", pointer(stack.wallet("carol")))  # WhatsApp's 521 wa_id
    phone.onboard(argentine, "Ana", pointer(stack.wallet("dave")))  # WhatsApp's 549 wa_id
    phone.onboard(owner, "Olga", pointer(stack.wallet("alice")))
    _card_saves_known_user(stack, owner, "+52 55 1234 0001", "Memo")  # typed without the 1
    _card_saves_known_user(stack, owner, "+54 11 2345 0001", "Ana")  # typed without the 9


def test_from_with_plus_is_the_same_user(stack: Stack, uid) -> None:
    phone, wa_id = stack.phone, uid()
    phone.onboard(wa_id, "Pia", pointer(stack.wallet("alice")))
    n = phone.count(wa_id)
    msg = meta.message(f"+{wa_id}", "wamid.plus-" + wa_id, "text", {"body": "wallet"})
    update = meta.message_update(
        phone_id=PHONE_ID,
        display_phone="15550001234",
        wa_id=f"+{wa_id}",
        name="Pia",
        messages=[msg],
    )
    r = post_signed(stack, update)
    assert r.status_code == 200
    # Known (no second onboarding): the bot answers with Pia's own wallet.
    phone.wait_text(wa_id, stack.wallet("alice"), after=n)


def test_number_change_moves_the_user(stack: Stack, uid) -> None:
    phone, old, new, friend = stack.phone, uid(), uid(), uid()
    phone.onboard(old, "Nico", pointer(stack.wallet("bob")))
    phone.onboard(friend, "Fer", pointer(stack.wallet("alice")))
    r = httpx.post(f"{phone.url}/api/users/{old}/number", json={"newWaId": new})
    assert r.status_code == 200, r.text
    phone.wait_text(new, "changed your number")
    n = phone.count(new)
    phone.say(new, "wallet")
    phone.wait_text(new, stack.wallet("bob"), after=n)  # language and wallet moved along
    # Others reach Nico at the new number.
    _card_saves_known_user(stack, friend, f"+{new}", "Nico")


def test_sender_known_only_by_user_id_is_answered(stack: Stack, uid) -> None:
    phone, wa_id = stack.phone, uid()
    phone.act(wa_id, "Uri", type="text", text="hola", bsuidOnly=True)
    welcome = phone.wait_text(wa_id, "Paguito")
    assert welcome["body"].get("recipient") == meta.bsuid(wa_id)  # addressed by user id
    n = phone.count(wa_id)
    phone.act(wa_id, type="list", title="English", bsuidOnly=True)  # a list pick, by user id
    phone.wait_text(wa_id, "I'll speak English", after=n)
