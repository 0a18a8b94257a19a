"""Replays a corpus of real-world webhook payload shapes (tests/ws_bot/corpus/*.json, gathered
from public documentation and libraries' fixtures), signed, into ws_bot with the sandbox phone:
every message a person sent gets exactly one answer, the rest none, and nothing crashes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from sandbox.phone import meta
from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import PHONE_ID, Phone, Stack, post_signed, text_of

CORPUS = Path(__file__).parent / "corpus"
DISPLAY = "15550001234"


def cases() -> list[dict[str, Any]]:
    found = []
    for path in sorted(CORPUS.glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            found.append({**case, "file": path.name})
    return found


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        for placeholder, real in names.items():
            value = value.replace(placeholder, real)
        return value
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


def _update(value: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    filled = _fill(value, names)
    if filled.get("contacts") == [None]:
        filled.pop("contacts")
    metadata = {"display_phone_number": DISPLAY, "phone_number_id": PHONE_ID}
    change = {
        "field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": metadata, **filled},
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": meta.WABA_ID, "changes": [change]}],
    }


def settle(phone: Phone, wa_id: str, quiet: float = 0.6, timeout: float = 10.0) -> None:
    """Wait until the bot has said nothing new to `wa_id` for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    count, since = phone.count(wa_id), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.1)
        if (now := phone.count(wa_id)) != count:
            count, since = now, time.monotonic()


def test_corpus_is_varied_and_from_named_sources() -> None:
    found = cases()
    assert len(found) >= 35
    kinds = {m.get("type") for c in found for m in c["value"].get("messages") or []}
    assert kinds >= {
        "text",
        "image",
        "audio",
        "edit",
        "revoke",
        "system",
        "interactive",
        "unsupported",
    }
    for path in CORPUS.glob("*.json"):
        assert json.loads(path.read_text(encoding="utf-8"))["source"]


def test_every_person_sent_message_gets_exactly_one_answer(stack: Stack, uid) -> None:
    phone = stack.phone
    plan = []
    for case in cases():
        wa_id = uid()
        person = case["answers"] > 0
        if person and "bsuid" not in case["name"]:
            # A wallet of their own: a wallet links to one number at a time (issue 17).
            phone.onboard(wa_id, "Corpus User", pointer(stack.wallet(f"u{wa_id}")))
            settle(phone, wa_id)  # onboarding's last message (the menu) may still be coming
        else:  # WhatsApp knows the person (the bot's answers can reach them by user id)
            httpx.post(f"{phone.url}/api/users/{wa_id}/window", json={"lastInboundAgeSeconds": 0})
        names = {
            "{WA_ID}": wa_id,
            "{BSUID}": meta.bsuid(wa_id),
            "{MSG_ID}": f"wamid.corpus.{case['name']}.{wa_id}",
            "{TS}": str(int(time.time())),
            "{DISPLAY}": DISPLAY,
        }
        before = phone.count(wa_id)
        r = post_signed(stack, _update(case["value"], names))
        assert r.status_code == 200, (case["name"], r.text)
        plan.append((case, wa_id, before))
    deadline = time.monotonic() + 30
    waiting = list(plan)
    while waiting and time.monotonic() < deadline:
        waiting = [p for p in waiting if phone.count(p[1]) < p[2] + p[0]["answers"]]
        time.sleep(0.2)
    time.sleep(1.5)  # room for a (wrong) second answer to show
    wrong = {
        f"{case['file']}:{case['name']}": [text_of(m) for m in phone.bot_messages(wa_id)[before:]]
        for case, wa_id, before in plan
        if phone.count(wa_id) - before != case["answers"]
    }
    assert wrong == {}, wrong
    # pywa logs the payloads it cannot parse (ws_bot answers those from the raw payload);
    # nothing of ws_bot's own may fail.
    errors = [
        line
        for line in stack.bot.logs().splitlines()
        if '"level": "ERROR"' in line and '"logger": "pywa.' not in line
    ]
    assert errors == [], errors[:3]
