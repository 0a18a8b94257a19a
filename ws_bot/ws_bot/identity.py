"""Who a WhatsApp user is: one canonical key per person, whatever form their number arrives in.

Keys are E.164 digits without "+" (what WhatsApp calls a wa_id), parsed with `phonenumbers`.
Two countries have a second form of every mobile number in the wild: Mexico's legacy "521"
(WhatsApp still sends it as wa_id) beside E.164's "52", and Argentina's "549" mobile form beside
the "54" one people type. Both forms give one key: "52" + 10 digits and "549" + 10 digits.
Users known only by Meta's business-scoped user id (BSUID, "US.123…") keep that id as their key.
"""

from __future__ import annotations

import re

import phonenumbers

_BSUID = re.compile(r"^[A-Z]{2}\.(?:ENT\.)?\d+$")
_PUNCTUATION = str.maketrans("", "", "+-(). \u00a0")
MEXICO, ARGENTINA = 52, 54


def is_bsuid(value: str) -> bool:
    return bool(_BSUID.fullmatch(value.strip()))


def canonical(value: str) -> str:
    """The user key for a wa_id, a typed phone number ("+52 1 55 …") or a BSUID."""
    text = value.strip()
    if is_bsuid(text):
        return text
    digits = text.translate(_PUNCTUATION)
    if not digits.isdigit():
        return text
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return digits
    national = str(number.national_number)
    if number.country_code == MEXICO and len(national) == 11 and national.startswith("1"):
        return f"{MEXICO}{national[1:]}"  # 521 + 10 digits: the pre-2019 mobile form
    if number.country_code == ARGENTINA and len(national) == 10:
        return f"{ARGENTINA}9{national}"  # WhatsApp numbers are mobiles: the 9 form
    e164 = _e164(number)
    # phonenumbers formats some impossible numbers (all-zero national parts) unstably; a key
    # must be a fixed point, so those keep their digits.
    return e164 if _e164(phonenumbers.parse("+" + e164)) == e164 else digits


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def same_person(a: str, b: str) -> bool:
    return canonical(a) == canonical(b)
