"""Linked wallets and one-tap payments (issue 17), op_api against the sandbox wallet over HTTP:
the owner approves a standing grant once; payments within its allowance need only the chat's
Confirm (`/payments/{id}/authorize`); anything else falls back to the consent page, saying why."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from op_api.access import incoming_access, quote_access
from op_api.client import OpenPaymentsClient
from op_api.client.models import Grant
from shared.money import Amount
from tests.op_api.harness import OpApi, Wallet, run_async
from tests.op_api.test_hygiene import _tokens
from tests.support.processes import free_port

Start = Callable[..., OpApi]


def create_link(api: OpApi, wallet_url: str, **body: Any) -> dict[str, Any]:
    response = api.http.post("/links", json={"walletUrl": wallet_url, **body})
    assert response.status_code == 201, response.text
    link: dict[str, Any] = response.json()
    return link


def until_link(api: OpApi, link_id: str, status: str, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = api.http.post(f"/links/{link_id}/confirm")
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        if view["status"] != "awaiting_approval" or time.monotonic() > deadline:
            assert view["status"] == status, view
            return view
        time.sleep(0.3)


def linked(api: OpApi, wallet: Wallet, name: str, **body: Any) -> dict[str, Any]:
    """A link approved by its owner at the sandbox wallet."""
    link = create_link(api, wallet.address(name), **body)
    assert link["status"] == "awaiting_approval"
    assert link["confirmationUrl"].startswith(wallet.url)
    assert wallet.answer(link["confirmationUrl"]).status_code == 200
    return until_link(api, link["linkId"], "active")


def authorize(api: OpApi, payment_id: str) -> dict[str, Any]:
    response = api.http.post(f"/payments/{payment_id}/authorize")
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


def settled_or_asking(api: OpApi, payment_id: str, timeout: float = 20) -> dict[str, Any]:
    """Follow a payment until it is final, or back to asking for approval at the wallet."""
    deadline = time.monotonic() + timeout
    while True:
        view = api.get(payment_id)
        if view["status"] in {"completed", "failed", "rejected", "expired"}:
            return view
        if view["status"] == "awaiting_approval" and view["confirmationUrl"]:
            return view
        assert time.monotonic() < deadline, view
        time.sleep(0.2)


def one_tap(api: OpApi, wallet: Wallet, link: dict[str, Any], amount: str) -> dict[str, Any]:
    payment = api.start(
        wallet.address("alice"), wallet.address("bob"), amount, linkId=link["linkId"]
    )
    assert payment["status"] == "awaiting_approval", payment
    assert payment["confirmationUrl"] is None
    assert payment["linkId"] == link["linkId"]
    assert payment["fallbackReason"] is None
    return payment


def test_allowance_pays_twice_with_one_tap_then_falls_back(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    link = linked(api, wallet, "alice", allowance={"amount": "50", "interval": "P1W"})
    assert link["allowance"] == {"value": "50.00", "assetCode": "USD", "assetScale": 2}
    assert link["interval"] == "P1W"
    assert link["spent"]["value"] == "0.00"
    assert link["remaining"]["value"] == "50.00"
    assert link["confirmationUrl"] is None
    alice, bob = wallet.balance("alice"), wallet.balance("bob")
    grants_before = len(grant_requests(wallet))

    first = one_tap(api, wallet, link, "20.00")
    assert first["allowanceRemaining"]["value"] == "30.00"
    final = settled_or_asking(api, authorize(api, first["paymentId"])["paymentId"])
    assert final["status"] == "completed", final
    second = one_tap(api, wallet, link, "25.00")
    assert second["allowanceRemaining"]["value"] == "5.00"
    assert settled_or_asking(api, authorize(api, second["paymentId"])["paymentId"])["status"] == (
        "completed"
    )

    received = sum(Decimal(p["receiveAmount"]["value"]) for p in (first, second))
    assert wallet.balance("alice") == alice - 4500
    assert wallet.balance("bob") == bob + int(received * 100)
    # No consent: not one interactive grant was asked for the two payments.
    grants = grant_requests(wallet)[grants_before:]
    assert grants  # the quote grant, at least, is seen
    assert not [g for g in grants if "outgoing-payment" in g["request_body"]]
    view = api.http.get(f"/links/{link['linkId']}").json()
    assert view["spent"]["value"] == "45.00"
    assert view["remaining"]["value"] == "5.00"

    third = api.start(
        wallet.address("alice"), wallet.address("bob"), "10.00", linkId=link["linkId"]
    )
    assert third["fallbackReason"] == "over_allowance"
    assert third["linkId"] is None
    assert third["confirmationUrl"].startswith(wallet.url)
    assert wallet.answer(third["confirmationUrl"]).status_code == 200
    assert api.until_final(third["paymentId"])["status"] == "completed"
    assert wallet.balance("alice") == alice - 5500


def test_authorize_falls_back_when_the_allowance_was_spent_meanwhile(
    wallet: Wallet, op_api: Start
) -> None:
    """Two payments quoted within the allowance, confirmed one after the other: the second no
    longer fits, so it asks for its own approval (and its consent link works)."""
    api = op_api()
    link = linked(api, wallet, "alice", allowance={"amount": "10", "interval": "P1W"})
    first = one_tap(api, wallet, link, "6.00")
    second = one_tap(api, wallet, link, "6.00")
    assert settled_or_asking(api, authorize(api, first["paymentId"])["paymentId"])["status"] == (
        "completed"
    )
    view = settled_or_asking(api, authorize(api, second["paymentId"])["paymentId"])
    assert view["status"] == "awaiting_approval"
    assert view["fallbackReason"] == "over_allowance"
    assert view["confirmationUrl"].startswith(wallet.url)
    assert authorize(api, second["paymentId"])["confirmationUrl"] == view["confirmationUrl"]
    wallet.answer(view["confirmationUrl"])
    assert api.until_final(second["paymentId"])["status"] == "completed"


def test_ask_me_every_time_link_is_active_but_cannot_pay_with_one_tap(
    wallet: Wallet, op_api: Start
) -> None:
    api = op_api()
    link = linked(api, wallet, "alice")
    assert link["status"] == "active"
    assert link["allowance"] is None
    assert link["remaining"] is None
    payment = api.start(
        wallet.address("alice"), wallet.address("bob"), "3.00", linkId=link["linkId"]
    )
    assert payment["fallbackReason"] == "no_allowance"
    assert payment["confirmationUrl"].startswith(wallet.url)
    # Its grant allows reading only: the consent page showed no amount to spend.
    link_grant = [
        g for g in grant_requests(wallet) if '"actions":["read","list"]' in g["request_body"]
    ]
    assert link_grant
    assert '"create"' not in link_grant[-1]["request_body"]
    assert "limits" not in link_grant[-1]["request_body"]
    response = api.http.post(f"/payments/{payment['paymentId']}/authorize")
    assert response.status_code == 200
    assert response.json()["status"] == "awaiting_approval"


def test_revoked_at_the_wallet_falls_back_and_shows_revoked(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    link = linked(api, wallet, "alice", allowance={"amount": "50", "interval": "P1W"})
    payment = one_tap(api, wallet, link, "4.00")
    # The owner revokes the access at their wallet (the wallet revokes the token).
    manage, token = link_token(wallet, link["linkId"])
    revoke_at_wallet(wallet, manage, token)
    alice = wallet.balance("alice")
    view = settled_or_asking(api, authorize(api, payment["paymentId"])["paymentId"])
    assert view["status"] == "awaiting_approval", view
    assert view["fallbackReason"] == "link_revoked"
    assert view["confirmationUrl"].startswith(wallet.url)
    shown = api.http.get(f"/links/{link['linkId']}").json()
    assert shown["status"] == "revoked"
    assert "revoked at the wallet" in shown["failureReason"]
    # The dead token is never sent again: a new payment with the link falls back up front.
    later = api.start(wallet.address("alice"), wallet.address("bob"), "1.00", linkId=link["linkId"])
    assert later["fallbackReason"] == "link_revoked"
    wallet.answer(view["confirmationUrl"])
    assert api.until_final(payment["paymentId"])["status"] == "completed"
    assert wallet.balance("alice") == alice - 400


def test_the_wallets_insufficient_grant_falls_back_and_the_link_stays(
    wallet: Wallet, op_api: Start
) -> None:
    """The wallet counts more against the grant than op_api knows (here: a payment made with
    the link's token elsewhere): its 403 "Insufficient Grant" sends the approved payment back to
    asking for its own approval; the link is not revoked."""
    api = op_api()
    link = linked(api, wallet, "alice", allowance={"amount": "10", "interval": "P1W"})
    _manage, token = link_token(wallet, link["linkId"])
    spend_with_the_link_token(wallet, token, 900)
    payment = one_tap(api, wallet, link, "5.00")  # fits what op_api counts (10 left)
    view = settled_or_asking(api, authorize(api, payment["paymentId"])["paymentId"])
    assert view["status"] == "awaiting_approval", view
    assert view["fallbackReason"] == "over_allowance"
    assert view["linkId"] is None
    shown = api.http.get(f"/links/{link['linkId']}").json()
    assert shown["status"] == "active"
    assert shown["spent"]["value"] == "0.00"  # the hold was given back
    wallet.answer(view["confirmationUrl"])
    assert api.until_final(payment["paymentId"])["status"] == "completed"


def _live_grants(wallet: Wallet) -> set[str]:
    """Ids of the grants the wallet lists as live access of alice's (its balances page)."""
    return {g["id"] for g in wallet.admin("GET", "/grants?wallet=alice").json()["grants"]}


def test_delete_revokes_the_link_at_the_wallet(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    link = linked(api, wallet, "alice", allowance={"amount": "20", "interval": "P1M"})
    _manage, token = link_token(wallet, link["linkId"])
    quoted = one_tap(api, wallet, link, "1.50")  # quoted before the unlinking, confirmed after
    live_before = _live_grants(wallet)
    response = api.http.delete(f"/links/{link['linkId']}")
    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    assert response.json()["failureReason"] == "unlinked"
    assert api.http.delete(f"/links/{link['linkId']}").json()["status"] == "revoked"
    # The token is dead at the wallet, and the grant is off the wallet's list of live access.
    assert wallet_token_active(wallet, token) is False
    assert len(live_before - _live_grants(wallet)) == 1  # this link's grant, and only it
    view = authorize(api, quoted["paymentId"])
    assert view["status"] == "awaiting_approval"
    assert view["fallbackReason"] == "link_revoked"
    assert view["confirmationUrl"].startswith(wallet.url)
    assert not wallet.outgoing_posts(quoted["paymentId"])
    payment = api.start(
        wallet.address("alice"), wallet.address("bob"), "1.00", linkId=link["linkId"]
    )
    assert payment["fallbackReason"] == "link_revoked"


def test_pending_link_can_be_cancelled_and_rejected_links_say_so(
    wallet: Wallet, op_api: Start
) -> None:
    api = op_api()
    pending = create_link(api, wallet.address("alice"))
    waiting = api.start(
        wallet.address("alice"), wallet.address("bob"), "1.00", linkId=pending["linkId"]
    )
    assert waiting["fallbackReason"] == "link_inactive"
    cancelled = api.http.delete(f"/links/{pending['linkId']}").json()
    assert cancelled["status"] == "revoked"
    assert wallet.answer(pending["confirmationUrl"]).status_code in {404, 409}
    rejected = create_link(api, wallet.address("alice"), idempotencyKey="l-rej")
    again = api.http.post(
        "/links", json={"walletUrl": wallet.address("alice"), "idempotencyKey": "l-rej"}
    )
    assert again.status_code == 200
    assert again.json()["linkId"] == rejected["linkId"]
    wallet.answer(rejected["confirmationUrl"], "reject")
    assert until_link(api, rejected["linkId"], "rejected")["failureReason"]


def test_a_one_tap_payment_that_fails_gives_its_allowance_back(
    wallet: Wallet, op_api: Start
) -> None:
    api = op_api()
    poor = wallet.add_wallet("poorlinked", "1.00")
    link = create_link(api, poor, allowance={"amount": "50", "interval": "P1W"})
    wallet.answer(link["confirmationUrl"])
    link = until_link(api, link["linkId"], "active")
    payment = api.start(poor, wallet.address("bob"), "20.00", linkId=link["linkId"])
    assert payment["linkId"] == link["linkId"]
    final = settled_or_asking(api, authorize(api, payment["paymentId"])["paymentId"])
    assert final["status"] == "failed", final
    assert "insufficient" in final["failureReason"].lower()
    assert wallet.balance("poorlinked") == 100
    shown = api.http.get(f"/links/{link['linkId']}").json()
    assert shown["spent"]["value"] == "0.00"
    assert shown["remaining"]["value"] == "50.00"


def test_concurrent_authorizes_make_one_outgoing_payment(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    link = linked(api, wallet, "alice", allowance={"amount": "30", "interval": "P1W"})
    payment = one_tap(api, wallet, link, "7.00")
    alice = wallet.balance("alice")
    with ThreadPoolExecutor(max_workers=6) as pool:
        views = list(pool.map(lambda _: authorize(api, payment["paymentId"]), range(6)))
    assert all(v["paymentId"] == payment["paymentId"] for v in views)
    assert settled_or_asking(api, payment["paymentId"])["status"] == "completed"
    assert len(wallet.outgoing_posts(payment["paymentId"])) == 1
    assert wallet.balance("alice") == alice - 700
    assert api.http.get(f"/links/{link['linkId']}").json()["spent"]["value"] == "7.00"


def test_bad_link_ids_are_clear_4xx(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    unknown = api.send(wallet.address("alice"), wallet.address("bob"), "1.00", linkId="nope")
    assert unknown.status_code == 422
    assert "linkId" in unknown.json()["detail"]
    bobs = linked(api, wallet, "bob", allowance={"amount": "5", "interval": "P1D"})
    other = api.send(
        wallet.address("alice"), wallet.address("carol"), "1.00", linkId=bobs["linkId"]
    )
    assert other.status_code == 422
    assert api.http.get("/links/nope").status_code == 404
    assert api.http.post("/links/nope/confirm").status_code == 404
    assert api.http.delete("/links/nope").status_code == 404
    assert api.http.post("/payments/nope/authorize").status_code == 404
    plain = api.start(wallet.address("alice"), wallet.address("bob"), "1.00")
    assert api.http.post(f"/payments/{plain['paymentId']}/authorize").status_code == 409
    bad = api.http.post(
        "/links",
        json={"walletUrl": wallet.address("alice"), "allowance": {"amount": "5", "interval": "P"}},
    )
    assert bad.status_code == 422


def test_the_allowance_renews_next_interval(wallet: Wallet, op_api: Start) -> None:
    """Spending counts per interval, at op_api and at the wallet alike: what did not fit in
    one interval fits in the next."""
    api = op_api()
    link = linked(api, wallet, "alice", allowance={"amount": "5", "interval": "PT6S"})
    first = one_tap(api, wallet, link, "4.00")
    assert settled_or_asking(api, authorize(api, first["paymentId"])["paymentId"])["status"] == (
        "completed"
    )
    shown = api.http.get(f"/links/{link['linkId']}").json()
    assert shown["remaining"]["value"] == "1.00"
    too_much = api.start(
        wallet.address("alice"), wallet.address("bob"), "4.00", linkId=link["linkId"]
    )
    assert too_much["fallbackReason"] == "over_allowance"
    ends = datetime.fromisoformat(shown["intervalEndsAt"])
    time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 0.5)
    renewed = api.http.get(f"/links/{link['linkId']}").json()
    assert renewed["remaining"]["value"] == "5.00"
    assert renewed["spent"]["value"] == "0.00"
    assert datetime.fromisoformat(renewed["intervalEndsAt"]) > ends
    second = one_tap(api, wallet, link, "4.00")
    assert settled_or_asking(api, authorize(api, second["paymentId"])["paymentId"])["status"] == (
        "completed"
    )


# ------------------------------------------------------------------ the wallet's side


def grant_requests(wallet: Wallet) -> list[dict[str, Any]]:
    """Every grant request the wallet's auth server received, oldest first."""
    return [
        e for e in wallet.exchanges() if e["method"] == "POST" and e["path"].rstrip("/") == "/auth"
    ]


def link_token(wallet: Wallet, link_id: str) -> tuple[str, str]:
    """The link's token (manage URL, value) as the wallet handed it to op_api: read from the
    wallet's recorded answer to the continuation (op_api's own copy is sealed)."""
    for e in reversed(wallet.exchanges()):
        if e["path"].startswith("/auth/continue/") and '"access_token"' in (
            e["response_body"] or ""
        ):
            body = httpx.Response(200, content=e["response_body"]).json()
            token = body["access_token"]
            if any(a.get("type") == "outgoing-payment" for a in token["access"]):
                return token["manage"], token["value"]
    raise LookupError(f"no token issued for link {link_id}")


def platform_client(wallet: Wallet) -> OpenPaymentsClient:
    """A client holding the platform's key, as op_api does (the wallet checks signatures)."""
    return OpenPaymentsClient.from_key_material(
        wallet.address("paguito"),
        (wallet.data_dir / "paguito-key-id").read_text().strip(),
        private_key_path=wallet.data_dir / "paguito-private-key.pem",
        allow_insecure_http=True,
    )


def revoke_at_wallet(wallet: Wallet, manage: str, token: str) -> None:
    """What the wallet does when its owner revokes the access: the token is revoked (here by
    DELETE on its manage URL, signed with the platform's key as the wallet requires)."""

    async def revoke() -> None:
        async with platform_client(wallet) as client:
            await client.token.revoke(manage, token)

    run_async(revoke())
    assert wallet_token_active(wallet, token) is False


def spend_with_the_link_token(wallet: Wallet, token: str, debit_minor: int) -> None:
    """Pay alice → bob with the link's token behind op_api's back: the wallet counts it against
    the grant's limit, op_api's allowance does not know of it."""

    async def spend() -> None:
        async with platform_client(wallet) as client:
            alice = await client.wallet_address.get(wallet.address("alice"))
            bob = await client.wallet_address.get(wallet.address("bob"))
            incoming_grant = await client.grant.request(bob.auth_server, incoming_access(bob.id))
            quote_grant = await client.grant.request(alice.auth_server, quote_access())
            assert isinstance(incoming_grant, Grant)
            assert isinstance(quote_grant, Grant)
            incoming = await client.incoming_payment.create(
                bob.resource_server, incoming_grant.access_token.value, wallet_address=bob.id
            )
            quote = await client.quote.create(
                alice.resource_server,
                quote_grant.access_token.value,
                wallet_address=alice.id,
                receiver=incoming.id,
                debit_amount=Amount(value=str(debit_minor), asset_code="USD", asset_scale=2),
            )
            await client.outgoing_payment.create(
                alice.resource_server, token, wallet_address=alice.id, quote_id=quote.id
            )

    run_async(spend())


def wallet_token_active(wallet: Wallet, token: str) -> bool:
    """Ask the wallet's resource server with the token: 403 "Inactive Token" when dead."""
    response = httpx.get(
        f"{wallet.url}/outgoing-payments",
        params={"wallet-address": wallet.address("alice")},
        headers={"Authorization": f"GNAP {token}"},
    )
    return "Inactive Token" not in response.text


def test_finish_redirect_mode_links_through_the_browsers_return(
    wallet: Wallet, op_api: Start
) -> None:
    port = free_port()
    api = op_api(port=port, PUBLIC_URL=f"http://127.0.0.1:{port}")
    link = create_link(api, wallet.address("alice"), allowance={"amount": "9", "interval": "P1D"})
    redirect = wallet.answer(link["confirmationUrl"]).json()["redirect"]
    assert redirect.startswith(f"{api.url}/links/{link['linkId']}/finish?")
    forged = redirect.replace("hash=", "hash=x")
    assert httpx.get(forged, timeout=30).status_code == 400
    deadline = time.monotonic() + 15
    while (page := httpx.get(redirect, timeout=30)).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert page.status_code == 200, page.text
    assert "Wallet linked" in page.text
    assert api.http.get(f"/links/{link['linkId']}").json()["status"] == "active"
    payment = one_tap(api, wallet, api.http.get(f"/links/{link['linkId']}").json(), "2.00")
    assert settled_or_asking(api, authorize(api, payment["paymentId"])["paymentId"])["status"] == (
        "completed"
    )
    rejected = create_link(api, wallet.address("alice"))
    finish = f"{api.url}/links/{rejected['linkId']}/finish?result=grant_rejected"
    assert httpx.get(finish).status_code == 200
    assert api.http.get(f"/links/{rejected['linkId']}").json()["status"] == "rejected"
    assert wallet.answer(rejected["confirmationUrl"]).status_code in {404, 409}


def test_crash_between_the_confirm_and_the_outgoing_payment(
    wallet: Wallet, op_api: Start, tmp_path: Path
) -> None:
    """op_api dies with a one-tap payment's POST in flight (the wallet still processes it):
    after a restart it is found by its metadata with the link's token, the sender is debited
    once, and the allowance counts it once."""
    data = tmp_path / "one-tap-crash"
    env = {"CLAIM_STALE_SECONDS": "2"}
    first = op_api(data_dir=data, **env)
    link = linked(first, wallet, "alice", allowance={"amount": "40", "interval": "P1W"})
    payment = one_tap(first, wallet, link, "3.30")
    alice = wallet.balance("alice")
    fault = {"scope": "resource", "mode": "hang", "seconds": 4}
    assert wallet.admin("POST", "/faults", json=fault).status_code == 201
    try:
        answered = first.http.post(f"/payments/{payment['paymentId']}/authorize", timeout=30)
        assert answered.json()["status"] == "approved"  # the POST is now in flight
    finally:
        first.proc.kill()
        wallet.admin("DELETE", "/faults")
    second = op_api(data_dir=data, **env)
    final = second.until_final(payment["paymentId"], timeout=30)
    assert final["status"] == "completed", final
    time.sleep(4)  # let the hung request finish at the wallet too
    assert wallet.balance("alice") == alice - 330
    assert len(wallet.outgoing_posts(payment["paymentId"])) == 1
    assert authorize(second, payment["paymentId"])["status"] == "completed"  # a late replay
    assert second.http.get(f"/links/{link['linkId']}").json()["spent"]["value"] == "3.30"


def test_link_tokens_never_leave_op_api_and_are_sealed_at_rest(
    wallet: Wallet, op_api: Start, tmp_path: Path
) -> None:
    data = tmp_path / "sealed-links"
    api = op_api(data_dir=data)
    seen = len(wallet.exchanges())
    link = linked(api, wallet, "alice", allowance={"amount": "10", "interval": "P1W"})
    payment = one_tap(api, wallet, link, "1.20")
    final = settled_or_asking(api, authorize(api, payment["paymentId"])["paymentId"])
    assert final["status"] == "completed"
    tokens = _tokens(wallet.exchanges()[seen:])
    manage, token = link_token(wallet, link["linkId"])
    assert token in tokens
    views = json.dumps([link, payment, final, api.http.get(f"/links/{link['linkId']}").json()])
    logs = api.proc.logs()
    raw = b"".join(p.read_bytes() for p in data.glob("op_api.sqlite3*"))
    assert raw  # the database (and its journal) as a backup would hold it
    for secret in tokens:
        assert secret not in views
        assert secret not in logs
        assert secret.encode() not in raw
    assert manage not in views
