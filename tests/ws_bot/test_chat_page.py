"""The sandbox phone's chat page in headless Chromium: type, tap a button, pick a list row,
send a voice note, follow the approval link."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import FilePayload, Page, expect

from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import Stack

pytestmark = pytest.mark.browser
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


def _type(page: Page, text: str) -> None:
    page.fill("#composer-text", text)
    page.press("#composer-text", "Enter")


def test_chat_page_plays_a_users_phone(stack: Stack, page: Page, artifacts_dir: Path) -> None:
    page.goto(stack.phone.url)
    page.fill("#new-wa-id", "15550777001")
    page.fill("#new-name", "Paula")
    page.click("#add-user")
    expect(page.locator("#chat-title")).to_contain_text("Paula")
    expect(page.locator(".user[data-wa-id='15550777001']")).to_be_visible()

    _type(page, "hola")  # typing
    expect(page.locator(".msg.in").first).to_contain_text("hola")
    page.locator(".msg.out .list-open").first.click()  # the language list
    page.locator(".msg.out .list-row[data-title='English']").first.click()  # picking a row
    expect(page.locator(".msg.out").last).to_contain_text("wallet address")

    _type(page, pointer(stack.wallet("alice")))
    # Issue 17: the allowance list, then the link's approval at the wallet (the fake's consent).
    row = ".list-row[data-title='Ask me every time']"
    choices = page.locator(".msg.out", has=page.locator(row))
    expect(choices).to_have_count(1)
    choices.locator(".list-open").click()
    choices.locator(row).click()
    approve = page.locator(".msg.out a.url-button").last
    expect(approve).to_be_visible(timeout=15000)
    stack.phone.answer(approve.get_attribute("href") or "", "approve")
    expect(page.locator(".msg.out .reply-button[data-title='Help']").first).to_be_visible()
    expect(page.locator(".msg.in .ticks.read").first).to_be_visible()  # read marks shown
    page.locator(".msg.out .reply-button[data-title='Help']").first.click()  # tapping a button
    expect(page.locator(".msg.out").last).to_contain_text("I never move money")

    # A voice note from a file: understood, answered with a summary and a voice note.
    note: FilePayload = {
        "name": "note.ogg",
        "mimeType": "audio/ogg",
        "buffer": b"VOICE:send 4 to " + pointer(stack.wallet("bob")).encode(),
    }
    page.set_input_files("#audio-file", files=[note])
    confirm = page.locator(".msg.out .reply-button[data-title='Confirm']").last
    expect(confirm).to_be_visible(timeout=15000)
    expect(page.locator(".msg.out audio")).to_have_count(1)
    expect(page.locator(".msg.in audio")).to_have_count(1)
    expect(page.locator(".msg.in .reaction").first).to_contain_text("⏳")
    confirm.click()
    link = page.locator(".msg.out a.url-button").last
    expect(link).to_be_visible(timeout=15000)
    assert "/consent/" in (link.get_attribute("href") or "")
    page.screenshot(path=str(artifacts_dir / "chat-page.png"), full_page=True)

    # A contact card (name and phone asked by the page's dialogs) and a receipt photo.
    answers = iter(["Ben", "+1 555 077 7003"])
    page.on("dialog", lambda dialog: dialog.accept(next(answers)))
    page.click("#contact-button")
    expect(page.locator(".msg.in .card").last).to_contain_text("Ben")
    expect(page.locator(".msg.out").last).to_contain_text("Ben isn't on Paguito yet")
    photo: FilePayload = {"name": "r.png", "mimeType": "image/png", "buffer": PNG}
    page.set_input_files("#image-file", files=[photo])
    expect(page.locator(".msg.in img")).to_have_count(1)

    # Another user's phone on the same page.
    page.fill("#new-wa-id", "15550777002")
    page.fill("#new-name", "Quique")
    page.click("#add-user")
    expect(page.locator("#chat-title")).to_contain_text("Quique")
    expect(page.locator(".msg")).to_have_count(0)
    page.locator(".user[data-wa-id='15550777001']").click()
    expect(page.locator(".msg.out a.url-button")).to_have_count(2)  # the link, the payment
