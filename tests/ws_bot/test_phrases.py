"""Reading user text: what each phrase means, and that no input makes reading it slow.

Every function that matches user text runs on the request loop; a backtracking pattern once
took minutes on "save a" + 4,000 spaces + "y". Each is fed adversarial inputs here and must
answer well within a generous bound (it measures that nothing is quadratic or worse: a cubic
pattern on these inputs takes minutes, a linear one microseconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from ws_bot import phrases
from ws_bot.onboarding import language_from_text
from ws_bot.wallets import find_wallet

READERS: list[Callable[[str], object]] = [
    phrases.command,
    phrases.is_yes,
    phrases.is_no,
    phrases.parse_save,
    phrases.parse_my_wallet,
    phrases.parse_delete,
    phrases.amount,
    phrases.is_name,
    phrases.is_phone,
    phrases.recipient_answer,
    phrases.correction,
    phrases.bare_wallet,
    phrases.clean_name,
    phrases.fold,
    find_wallet,
    language_from_text,
]
N = 4000
ADVERSARIAL = [
    "save a" + " " * N + "y",
    "guarda a" + " a" * N + " como",
    "my wallet is" + " " * N + ":",
    "delete" + " a" * N,
    " " * N,
    "a" * N + "!",
    "1" * N + ",",
    "$" + "1" * N + ".",
    "$" + "a." * N,
    "https://" + "a" * N + " ",
    "mejor " * (N // 6) + "a",
    "no espera " * (N // 10),
    "to " * (N // 3) + "1",
    "a-" * (N // 2) + "1",
    "+" + "1 " * (N // 2),
    "\u0301" * N,
    "a ' " * (N // 4),
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=lambda s: repr(s[:12]))
def test_every_reader_of_user_text_is_fast_on_adversarial_input(text: str) -> None:
    for read in READERS:
        started = time.perf_counter()
        read(text)
        read(text * 3)  # three times longer must not be dramatically slower either
        elapsed = time.perf_counter() - started
        assert elapsed < 0.5, f"{read.__name__} took {elapsed:.2f}s on {text[:20]!r}…"


def test_text_is_capped_before_matching() -> None:
    assert len(phrases.cap("x" * 10 * phrases.MAX_TEXT)) == phrases.MAX_TEXT


def test_save_my_wallet_and_delete() -> None:
    assert phrases.parse_save("save Bob as $w.example/bob") == ("Bob", "$w.example/bob")
    assert phrases.parse_save("guarda a Juan Pérez como $w.example/j") == (
        "Juan Pérez",
        "$w.example/j",
    )
    assert phrases.parse_save("save Carol: $w.example/c") == ("Carol", "$w.example/c")
    assert phrases.parse_save("save a" + " " * 40 + "y") is None
    assert phrases.parse_my_wallet("my wallet is $w.example/me") == "$w.example/me"
    assert phrases.parse_my_wallet("mi billetera: $w.example/me") == "$w.example/me"
    assert phrases.parse_my_wallet("my wallet") is None
    assert phrases.parse_delete("borra a Juan") == "Juan"


def test_amounts_names_and_yes() -> None:
    assert phrases.amount("7,50") == "7.50"
    assert phrases.amount("$20") == "20"
    assert phrases.amount("20 usd") == "20"
    assert phrases.amount("twenty") is None
    assert phrases.recipient_answer("to bob") == "bob"
    assert phrases.recipient_answer("a María.") == "María"
    assert phrases.is_name("Juan Pérez")
    assert not phrases.is_name("send 20")
    for word in ("sí", "Si!", "dale", "confirmo", "yes", "OK"):
        assert phrases.is_yes(word), word
    assert not phrases.is_yes("sí, pero a Bob")
    assert phrases.command("¿Ya le llegó?") == "status"
    assert phrases.command("what's my balance?") == "balance"
    assert phrases.bare_wallet("wallet.example/bob") == "$wallet.example/bob"
    assert phrases.bare_wallet("hola amigo") is None


def test_names_from_wallets_are_data_not_layout() -> None:
    spoof = "Bob\n• Leaves your wallet: 5.00 USD\u200b" + " " * 2000 + "x"
    clean = phrases.clean_name(spoof)
    assert "\n" not in clean
    assert len(clean) <= phrases.MAX_NAME


@pytest.mark.parametrize(
    ("text", "head", "amount", "recipient"),
    [
        ("no, mejor 30", "", "30", None),
        ("mejor a Alice", "", None, "Alice"),
        ("wait, make it 25", "", "25", None),
        ("mándale 20 a Bob... no espera, mejor a Alice", "mándale 20 a Bob", None, "Alice"),
        ("actually 12.50 to Bob", "", "12.50", "Bob"),
    ],
)
def test_corrections(text: str, head: str, amount: str | None, recipient: str | None) -> None:
    fix = phrases.correction(text)
    assert fix is not None
    assert (fix.head, fix.amount, fix.recipient) == (head, amount, recipient)


def test_not_a_correction() -> None:
    assert phrases.correction("mándale 20 a Bob") is None
    assert phrases.correction("mejor") is None
    assert phrases.correction("espera un momento") is None
    assert phrases.correction("wait a second") is None
