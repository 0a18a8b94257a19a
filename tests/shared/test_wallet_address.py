"""One `$pointer` rule for every service (issue 14, item 3), wallet documents believed only about
their own origin, and names from wallets kept to one short line."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

from llm_back.parser import parse
from op_api.deps import ServiceError
from op_api.initiation import _validated_urls
from shared.contracts import SendPaymentRequest
from shared.names import MAX_NAME, clean_name
from shared.wallet_address import (
    WalletAddressError,
    check_document,
    find_wallet_address,
    to_url,
)
from ws_bot.wallets import WalletError, normalize

CASES = [
    ("$wallet.example", False, "https://wallet.example/.well-known/pay"),
    ("$wallet.example/alice", False, "https://wallet.example/alice"),
    ("$Wallet.Example/alice/", False, "https://wallet.example/alice"),
    ("https://wallet.example/alice", False, "https://wallet.example/alice"),
    ("$127.0.0.1:9000/bob", True, "http://127.0.0.1:9000/bob"),
    ("http://127.0.0.1:9000/bob", True, "http://127.0.0.1:9000/bob"),
]


def _op_api_url(address: str, allow: bool) -> str:
    deps: Any = SimpleNamespace(settings=SimpleNamespace(allow_insecure_http=allow))
    request = SendPaymentRequest.model_validate(
        {"senderWalletUrl": address, "receiverWalletUrl": "https://other.example/x", "amount": "1"}
    )
    return _validated_urls(deps, request)[0]


@pytest.mark.parametrize(("written", "allow", "url"), CASES)
def test_every_service_reads_a_wallet_address_the_same_way(
    written: str, allow: bool, url: str
) -> None:
    assert to_url(written, allow_http=allow) == url
    assert normalize(written, allow_http=allow) == url  # ws_bot
    assert _op_api_url(written, allow) == url  # op_api
    said = parse(f"send 5 to {written}", "en")  # llm_back hands it on as written
    assert said.destinatario == written


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("http://wallet.example/bob", "insecure"),
        ("$127.0.0.1:9000/bob", "address"),
        ("https://2130706433:9000/", "address"),
        ("https://0x7f000001:9000/", "address"),
        ("https://127.1:9000/", "address"),
        ("https://0:9000/", "address"),
        ("https://10.0.0.5:8443/admin", "address"),
        ("https://user:pw@wallet.example/bob", "invalid"),
        ("https://wallet.example/bob?x=1", "invalid"),
        ("ftp://wallet.example/bob", "invalid"),
        ("https://" + "a" * 2010 + ".example/", "invalid"),
    ],
)
def test_bad_addresses_are_refused_by_every_service(written: str, code: str) -> None:
    with pytest.raises(WalletAddressError) as caught:
        to_url(written, allow_http=False)
    assert caught.value.code == code
    with pytest.raises(WalletError):
        normalize(written, allow_http=False)
    with pytest.raises(ServiceError) as refused:
        _op_api_url(written, False)
    assert refused.value.status_code == 422


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("pay $20 to bob", None),
        ("$20.50 please", None),
        ("$wallet.example/ana.", "$wallet.example/ana"),
        ("(https://wallet.example/ana)", "https://wallet.example/ana"),
        ("to $127.0.0.1:9/bob!", "$127.0.0.1:9/bob"),
        ("$localhost:8/x", "$localhost:8/x"),
    ],
)
def test_finding_a_wallet_address_in_text(text: str, found: str | None) -> None:
    assert find_wallet_address(text) == found


def test_finding_is_linear_on_hostile_text() -> None:
    for text in ("$" + "a." * 20000 + "!", "$" + "a-" * 20000, "https://" + "x" * 50000):
        started = time.process_time()
        find_wallet_address(text)
        assert time.process_time() - started < 1.0


def test_a_document_is_believed_only_about_its_own_origin() -> None:
    home = "https://wallet.example/alice"
    good = check_document(
        home,
        id=home,
        auth_server="https://auth.wallet.example",
        resource_server="https://wallet.example",
        allow_http=False,
    )
    assert good.id == home
    for lie in (
        {"id": "https://10.0.0.5:8443/admin"},
        {"id": "https://other.example/alice"},
        {"resource_server": "https://evil.example"},
        {"auth_server": "https://169.254.169.254/"},
        {"auth_server": "http://auth.wallet.example"},
    ):
        fields: dict[str, Any] = {
            "id": home,
            "auth_server": "https://auth.wallet.example",
            "resource_server": "https://wallet.example",
            **lie,
        }
        with pytest.raises(WalletAddressError):
            check_document(home, allow_http=False, **fields)


def test_names_are_one_short_line() -> None:
    spoof = "Bob\n• Leaves your wallet: 5.00 USD\r\n\u202e" + " " * 900 + "x"
    name = clean_name(spoof)
    assert name is not None
    assert not {"\n", "\r", "\u202e"} & set(name)
    assert len(name) <= MAX_NAME
    assert clean_name("  Ana  María ") == "Ana María"
    assert clean_name("\x00\x07\n") is None
    assert clean_name(None) is None
