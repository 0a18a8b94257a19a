"""Playing a person on the sandbox phone's chat page, and at their wallet's consent page."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
from playwright.sync_api import FilePayload, Locator, Page, expect

from tests.support.consent import sign_in

TIMEOUT_MS = 30_000
TIMEOUT_S = TIMEOUT_MS / 1000


@dataclass
class Shots:
    """Numbered screenshots of the key moments, in the folder the test names."""

    folder: Path
    count: int = 0

    def take(self, page: Page, name: str) -> None:
        self.count += 1
        page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True)


class Chat:
    """The chat page, showing one user's phone at a time."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url
        page.goto(url)

    def open_user(self, wa_id: str, name: str) -> None:
        if self.page.locator(f".user[data-wa-id='{wa_id}']").count():
            self.page.locator(f".user[data-wa-id='{wa_id}']").click()
        else:
            self.page.fill("#new-wa-id", wa_id)
            self.page.fill("#new-name", name)
            self.page.click("#add-user")
        expect(self.page.locator("#chat-title")).to_contain_text(name)
        # Wait until the page shows this user's conversation, not the previous one's.
        known = len(httpx.get(f"{self.url.rstrip('/')}/api/users/{wa_id}/messages").json())
        expect(self.page.locator(".msg")).to_have_count(known, timeout=TIMEOUT_MS)

    @property
    def bot(self) -> Locator:
        return self.page.locator(".msg.out")

    def bot_count(self) -> int:
        return self.bot.count()

    def type(self, text: str) -> int:
        """Send a text; returns how many bot messages there were before, for `wait_bot`."""
        before = self.bot_count()
        self.page.fill("#composer-text", text)
        self.page.press("#composer-text", "Enter")
        return before

    def wait_bot(self, text: str, after: int, timeout: float = TIMEOUT_S) -> str:
        """The text of the first bot message after index `after` that contains `text`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i in range(after, self.bot_count()):
                said = self.bot.nth(i).inner_text()
                if text in said:
                    return said
            self.page.wait_for_timeout(200)
        last = self.bot.last.inner_text() if self.bot_count() else "(nothing)"
        raise AssertionError(f"the bot never said {text!r}; its last message: {last!r}")

    def tap(self, title: str) -> int:
        before = self.bot_count()
        self.bot.locator(f".reply-button[data-title='{title}']").last.click()
        return before

    def pick(self, title: str) -> int:
        before = self.bot_count()
        self.bot.locator(".list-open").last.click()
        self.bot.locator(f".list-row[data-title='{title}']").last.click()
        return before

    def send_file(self, selector: str, payload: FilePayload) -> int:
        before = self.bot_count()
        self.page.set_input_files(selector, files=[payload])
        return before

    def approval_link(self, after: int, timeout: float = TIMEOUT_S) -> str:
        """The URL of the first approval button the bot sent after index `after`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i in range(after, self.bot_count()):
                anchors = self.bot.nth(i).locator("a.url-button")
                if anchors.count():
                    href = anchors.first.get_attribute("href")
                    assert href
                    return href
            self.page.wait_for_timeout(200)
        raise AssertionError("no approval link after the confirmation")


ASK_EVERY_TIME = {"English": "Ask me every time", "Español": "Preguntarme cada vez"}


def onboard(
    chat: Chat,
    wa_id: str,
    name: str,
    language: str,
    pointer: str,
    allowance: str | None = None,
    shots: Shots | None = None,
) -> None:
    """Pick a language from the list, register the wallet and link it with `allowance` (a row
    of the list; "ask me every time" by default), approved at the wallet, as a new user would:
    with `shots`, at the consent page in the browser (signed in), else by its admin endpoint."""
    chat.open_user(wa_id, name)
    before = chat.type("hola")
    chat.wait_bot("idioma", before)
    before = chat.pick(language)
    chat.wait_bot("billetera" if language == "Español" else "wallet address", before)
    before = chat.type(pointer)
    chat.wait_bot("Billetera registrada" if language == "Español" else "Wallet registered", before)
    before = chat.pick(allowance or ASK_EVERY_TIME[language])
    if shots is None:
        approve_link(chat.approval_link(before))
    else:
        answer_consent(chat.page, chat.approval_link(before), "approve", shots, f"{name}-link")
    chat.wait_bot("✅", before)


def approve_link(url: str) -> None:
    """Approve a wallet link at the sandbox wallet (its admin endpoint, as the owner's sign-in
    and tap would)."""
    base, rest = url.split("/auth/interact/", 1)
    answer = httpx.post(f"{base}/admin/interactions/{rest.split('/', 1)[0]}/approve", timeout=10)
    assert answer.status_code == 200, answer.text


def answer_consent(page: Page, url: str, choice: str, shots: Shots, name: str) -> str:
    """Open the approval link in a new tab, sign in as the paying wallet and press Approve (or
    press Reject, which needs no sign-in); the page's text."""
    tab = page.context.new_page()
    tab.goto(url)
    expect(tab.get_by_test_id("consent")).to_be_visible()
    if choice == "approve":
        sign_in(tab)
    shots.take(tab, f"{name}-consent")
    tab.get_by_test_id(choice).click()
    tab.wait_for_load_state()
    shots.take(tab, f"{name}-{choice}d")
    text = tab.inner_text("body")
    tab.close()
    return text


AMOUNT = r"([0-9]+\.[0-9]{2}) ([A-Z]{3})"


def amounts_in_summary(text: str) -> tuple[Decimal, str, Decimal, str]:
    """(debit, debit asset, receive, receive asset) from the bot's Spanish or English summary."""
    debit = re.search(r"(?:Sale de tu billetera|Leaves your wallet): " + AMOUNT, text)
    receive = re.search(r"(?:Recibe|Receives): " + AMOUNT, text)
    assert debit, text
    assert receive, text
    return Decimal(debit[1]), debit[2], Decimal(receive[1]), receive[2]


def balance(wallet_url: str, name: str) -> tuple[Decimal, str]:
    """A wallet's balance (decimal) and its formatted text, from the sandbox's admin API."""
    body = httpx.get(f"{wallet_url}/admin/wallets/{name}").json()
    minor = int(body["balance"]["value"])
    return Decimal(minor).scaleb(-body["assetScale"]), body["balance"]["formatted"]


def pointer(wallet_url: str, name: str) -> str:
    """How people type a wallet address: $host:port/name."""
    return "$" + wallet_url.split("://", 1)[1] + "/" + name
