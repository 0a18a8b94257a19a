"""Pure pieces: WhatsApp limits, rate limiter, wallet pointers, texts, update splitting."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.app import direct_routes
from ws_bot import limits
from ws_bot.graph import graph_base_url
from ws_bot.texts import LANGUAGES, has_all_languages, keys, t
from ws_bot.wallets import WalletError, find_wallet, normalize
from ws_bot.worker import BadUpdate, split_update


@given(st.text(max_size=6000))
def test_texts_are_clipped_to_whatsapps_limits(text: str) -> None:
    assert 1 <= len(limits.text_body(text)) <= limits.MAX_TEXT
    assert len(limits.button_title(text)) <= limits.MAX_BUTTON_TITLE


def test_buttons_and_lists_within_limits() -> None:
    with pytest.raises(ValueError):
        limits.buttons([("a", "1")] * 4)
    with pytest.raises(ValueError):
        limits.buttons([])
    assert limits.buttons([("Confirmar el pago ahora mismo", "x")])[0][0].endswith("…")
    rows = limits.list_rows([(str(i), "t" * 30, "d" * 100) for i in range(15)])
    assert len(rows) == limits.MAX_LIST_ROWS
    assert all(len(r[1]) <= 24 and len(r[2]) <= 72 for r in rows)
    with pytest.raises(ValueError):
        limits.callback_data("x" * 300)


def test_rate_limiter_warns_once_per_window() -> None:
    limiter = limits.RateLimiter(limit=3, window=10)
    assert [limiter.hit("a", now=0)[0] for _ in range(3)] == [True, True, True]
    assert limiter.hit("a", now=1) == (False, True)
    assert limiter.hit("a", now=2) == (False, False)
    assert limiter.hit("b", now=2) == (True, False)
    assert limiter.hit("a", now=11) == (True, False)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("send 5 to $wallet.example/bob.", "$wallet.example/bob"),
        ("mi billetera es $127.0.0.1:4000/alice", "$127.0.0.1:4000/alice"),
        ("https://ilp.example/carol, thanks", "https://ilp.example/carol"),
        ("I have $20", None),
        ("send $20.50 to $wallet.example/bob", "$wallet.example/bob"),
        ("$20/month", None),
        ("$localhost:3000/bob", "$localhost:3000/bob"),
        ("nothing here", None),
    ],
)
def test_find_wallet(text: str, found: str | None) -> None:
    assert find_wallet(text) == found


def test_normalize_pointers() -> None:
    assert normalize("$wallet.example/bob", allow_http=False) == "https://wallet.example/bob"
    assert normalize("$127.0.0.1:4000/bob", allow_http=True) == "http://127.0.0.1:4000/bob"
    assert (
        normalize("$wallet.example", allow_http=False) == "https://wallet.example/.well-known/pay"
    )
    for bad, code in [
        ("http://wallet.example/bob", "insecure"),
        ("ftp://wallet.example/bob", "invalid"),
        ("https://user:pw@wallet.example/bob", "invalid"),
        ("https://wallet.example/bob?x=1", "invalid"),
        ("https://169.254.169.254/latest", "invalid"),
        ("https://10.0.0.1/bob", "invalid"),
        ("https://localhost/bob", "invalid"),
    ]:
        with pytest.raises(WalletError) as exc:
            normalize(bad, allow_http=False)
        assert exc.value.code == code


def test_every_text_exists_in_both_languages() -> None:
    assert has_all_languages()
    for key in keys():
        for lang in LANGUAGES:
            assert t(lang, key, **_blanks()) or key
    assert t("fr", "btn_help") == t("es", "btn_help")  # unknown language → Spanish


def _blanks() -> dict[str, str]:
    names = [
        "name",
        "url",
        "asset",
        "recipient",
        "amount",
        "slug",
        "debit",
        "receive",
        "fee",
        "ref",
        "reason",
        "sender",
        "status",
        "wallet",
        "rate",
        "what",
        "items",
        "old",
        "new",
        "when",
        "base",
        "quote",
        "age",
        # issue 16: several recipients, repeats, money requests
        "every",
        "count",
        "total",
        "names",
        "payer",
        "how",
        "requester",
        "most",
        # issue 17: linked wallets
        "left",
        "period",
        "allowance",
        "state",
        "next",
        "run",
        "margin",
    ]
    return dict.fromkeys(names, "x")


def test_split_update_fills_user_id_and_separates_messages() -> None:
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "metadata": {"phone_number_id": "9"},
                            "contacts": [
                                {"wa_id": "111", "profile": {"name": "A"}},
                                {"wa_id": "222", "profile": {"name": "B"}},
                            ],
                            "messages": [
                                {"from": "111", "id": "m1", "type": "text", "text": {"body": "a"}},
                                {"from": "222", "id": "m2", "type": "text", "text": {"body": "b"}},
                            ],
                            "statuses": [{"id": "s"}],
                        },
                    }
                ],
            }
        ],
    }
    items, statuses = split_update(body)
    assert len(statuses) == 1
    assert [(m.message_id, m.wa_id) for m in items] == [("m1", "111"), ("m2", "222")]
    second = json.loads(items[1].payload)["entry"][0]["changes"][0]["value"]
    assert second["contacts"] == [{"wa_id": "222", "profile": {"name": "B"}, "user_id": "222"}]
    assert second["messages"][0]["id"] == "m2"
    assert "statuses" not in second
    for bad in ({}, {"entry": "x"}, {"entry": [1]}):
        with pytest.raises(BadUpdate):
            split_update(bad)


def test_the_graph_api_base_moves_to_graph_api_url_and_nothing_else_does() -> None:
    import httpx

    meta = httpx.URL("https://graph.facebook.com/v23.0/")
    moved = graph_base_url(meta, "http://127.0.0.1:9999/prefix/")
    assert str(moved) == "http://127.0.0.1:9999/prefix/v23.0/"
    assert graph_base_url(meta, "https://graph.facebook.com") == meta
    # pywa's calls are relative to the base; media downloads are absolute and keep their host.
    client = httpx.AsyncClient(base_url=moved)
    call = client.build_request("POST", "/123/messages")
    assert str(call.url) == "http://127.0.0.1:9999/prefix/v23.0/123/messages"
    cdn = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1"
    assert str(client.build_request("GET", cdn).url) == cdn


def test_allowances_are_named_and_carried_as_typed() -> None:
    """Issue 17: the allowance list's taps, what a link allows, and the summary's line."""
    from ws_bot import allowances
    from ws_bot.buttons import AllowancePick, parse
    from ws_bot.summary import link_line

    assert parse(AllowancePick("50w").to_str()) == AllowancePick("50w")
    chosen = allowances.allowance("50w")
    assert chosen is not None
    assert (chosen.amount, chosen.interval) == ("50", "P1W")
    assert allowances.allowance(allowances.ASK) is None
    with pytest.raises(KeyError):
        allowances.allowance("1000000d")  # never offered: never asked of a wallet
    weekly = {"amount": "50", "assetCode": "USD", "interval": "P1W"}
    assert allowances.describe("en", weekly) == "up to 50.00 USD a week without asking"
    assert allowances.describe("es", None) == "te pediré aprobar cada pago en tu billetera"
    one_tap = {"linkId": "k", "confirmationUrl": None, "left": "30.00 USD", "interval": "P1W"}
    assert "Te quedan 30.00 USD esta semana" in link_line("es", one_tap)
    assert "You'll have 30.00 USD left this week" in link_line("en", one_tap)
    over = {"linkId": "k", "confirmationUrl": "u", "left": "4.80 USD", "fallback": "over_allowance"}
    assert "has left (4.80 USD)" in link_line("en", over)
    assert link_line("en", {"confirmationUrl": "u"}) == ""  # no link asked about


def test_the_webhook_ack_is_answered_by_the_service_middleware() -> None:
    # ws_bot declares the webhook on a router of its own; the ack skips FastAPI's routing
    # layers only if the middleware finds it there (shared.app.answered_directly).
    from ws_bot.main import app

    assert {("POST", "/webhook"), ("POST", "/")} <= set(direct_routes(app.router.routes))
