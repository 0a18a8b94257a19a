"""op_api's API contract: validation, auth, idempotency, exactly-once under concurrency,
finish-redirect mode, token rotation, and conformance of what it sends over real HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.op_api.harness import OpApi, Wallet, run_async, start_wallet, wallet_env
from tests.op_api.referees import validate_request
from tests.support.processes import TEST_TOKEN, ServiceProcess, console_script, free_port

Start = Callable[..., OpApi]


def test_bad_input_gets_a_clear_4xx(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    alice, bob = wallet.address("alice"), wallet.address("bob")
    cases = [
        ({"amount": "20.001"}, "decimal places"),
        ({"amount": "-5"}, "greater than zero"),
        ({"amount": "0"}, "greater than zero"),
        ({"amount": "1e3"}, "decimal amount"),
        ({"amount": "5", "assetCode": "EUR"}, "neither the sender's (USD) nor the receiver's"),
        ({"receiverWalletUrl": alice}, "same wallet"),
        ({"receiverWalletUrl": wallet.address("nobody")}, "could not be resolved"),
        ({"receiverWalletUrl": "ftp://x/y"}, "not a wallet address"),
        ({"receiverWalletUrl": "not a url"}, "not a wallet address"),
    ]
    for override, message in cases:
        body = {"senderWalletUrl": alice, "receiverWalletUrl": bob, "amount": "1.00", **override}
        response = api.http.post("/send-payment", json=body)
        assert response.status_code == 422, (override, response.text)
        assert message in response.text, (override, response.text)
    assert api.http.post("/send-payment", json={"amount": "1"}).status_code == 422
    assert api.http.post("/send-payment", content=b"{not json").status_code == 422


def test_plain_http_wallets_are_refused_unless_allowed(wallet: Wallet, op_api: Start) -> None:
    # The platform's own address must be https too, so start with only the payment check off:
    # the platform URL is allowed by its own setting, the payment URLs are not.
    api = op_api(ALLOW_INSECURE_HTTP="true")
    assert api.send(wallet.address("alice"), wallet.address("bob"), "1").status_code == 201
    strict = op_api(ALLOW_INSECURE_HTTP="false", WALLET_ADDRESS_URL="https://wallet.example/p")
    response = strict.send(wallet.address("alice"), wallet.address("bob"), "1")
    assert response.status_code == 422
    assert "https" in response.json()["detail"]


def test_internal_token_and_unknown_payments(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    anonymous = httpx.Client(base_url=api.url)
    for method, path in [
        ("POST", "/send-payment"),
        ("POST", "/confirm-payment"),
        ("GET", "/payments/x"),
        ("DELETE", "/payments/x"),
    ]:
        assert anonymous.request(method, path, json={}).status_code == 401
        wrong = anonymous.request(method, path, json={}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
    assert anonymous.get("/health").status_code == 200
    assert api.http.get("/payments/unknown").status_code == 404
    assert api.http.post("/confirm-payment", json={"paymentId": "unknown"}).status_code == 404
    assert api.http.delete("/payments/unknown").status_code == 404


def test_idempotency_key_returns_the_same_payment(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    alice, bob = wallet.address("alice"), wallet.address("bob")

    async def twins() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            base_url=api.url, headers={"Authorization": f"Bearer {TEST_TOKEN}"}, timeout=30
        ) as client:
            body = {"senderWalletUrl": alice, "receiverWalletUrl": bob, "amount": "4.00"}
            return await asyncio.gather(
                *(
                    client.post("/send-payment", json={**body, "idempotencyKey": "twin"})
                    for _ in range(5)
                )
            )

    responses = run_async(twins())
    ids = {r.json()["paymentId"] for r in responses}
    assert len(ids) == 1
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201]
    again = api.send(alice, bob, "4.00", idempotencyKey="twin")
    assert again.status_code == 200
    assert again.json()["paymentId"] in ids
    conflict = api.send(alice, bob, "5.00", idempotencyKey="twin")
    assert conflict.status_code == 409


def test_concurrent_confirms_create_one_outgoing_payment(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    alice = wallet.balance("alice")
    payment = api.start(wallet.address("alice"), wallet.address("bob"), "7.00")
    wallet.answer(payment["confirmationUrl"])
    time.sleep(1.1)  # let `wait` pass so the continuation is due for everyone at once

    async def storm() -> list[dict[str, object]]:
        async with httpx.AsyncClient(
            base_url=api.url, headers={"Authorization": f"Bearer {TEST_TOKEN}"}, timeout=30
        ) as client:
            body = {"paymentId": payment["paymentId"]}
            responses = await asyncio.gather(
                *(client.post("/confirm-payment", json=body) for _ in range(10))
            )
            return [r.json() for r in responses]

    views = run_async(storm())
    assert all(v["status"] != "rejected" for v in views), views
    final = api.until_final(payment["paymentId"])
    assert final["status"] == "completed"
    posts = [
        e
        for e in wallet.exchanges()
        if e["method"] == "POST"
        and e["path"] == "/outgoing-payments"
        and e["status"] == 201
        and payment["paymentId"] in e["request_body"]
    ]
    assert len(posts) == 1
    assert wallet.balance("alice") == alice - 700


def test_finish_redirect_mode(wallet: Wallet, op_api: Start) -> None:
    port = free_port()
    api = op_api(port=port, PUBLIC_URL=f"http://127.0.0.1:{port}")
    seen = len(wallet.exchanges())
    payment = api.start(wallet.address("alice"), wallet.address("bob"), "6.00")
    answer = wallet.answer(payment["confirmationUrl"]).json()
    redirect = httpx.URL(answer["redirect"])
    assert str(redirect).startswith(f"{api.url}/payments/{payment['paymentId']}/finish?")
    params = dict(redirect.params)
    # A forged hash is refused (and the payment is untouched).
    forged = httpx.get(str(redirect.copy_merge_params({"hash": "AAAA" + params["hash"][4:]})))
    assert forged.status_code == 400
    assert api.get(payment["paymentId"])["status"] == "awaiting_approval"
    assert "bad hash" in api.proc.logs()
    # A poll is not how finish-mode grants continue: confirm leaves it waiting.
    assert api.confirm(payment["paymentId"])["status"] == "awaiting_approval"
    page = httpx.get(str(redirect))
    # Approved before the grant's `wait` passed: the page says it is confirming, and op_api
    # continues the grant once the wait is over (never too early).
    assert page.status_code in {200, 202}
    assert "WhatsApp" in page.text
    final = api.until_final(payment["paymentId"])
    assert final["status"] == "completed"
    continuations = [e for e in wallet.exchanges()[seen:] if e["path"].startswith("/auth/continue")]
    assert continuations
    assert all(e["status"] == 200 for e in continuations), continuations
    assert httpx.get(str(redirect)).status_code == 200  # the page's refresh: done


def test_finish_redirect_rejection(wallet: Wallet, op_api: Start) -> None:
    port = free_port()
    api = op_api(port=port, PUBLIC_URL=f"http://127.0.0.1:{port}")
    payment = api.start(wallet.address("alice"), wallet.address("bob"), "6.50")
    answer = wallet.answer(payment["confirmationUrl"], "reject").json()
    assert "result=grant_rejected" in answer["redirect"]
    assert httpx.get(answer["redirect"]).status_code == 200
    assert api.get(payment["paymentId"])["status"] == "rejected"


def test_expired_tokens_are_rotated(spawn: Callable[..., ServiceProcess], tmp_path: Path) -> None:
    proc, short_lived = start_wallet(tmp_path / "wallet", "--token-ttl", "2")
    try:
        env = {**wallet_env(short_lived), "WORKER_INTERVAL_SECONDS": "0.3"}
        api = OpApi(spawn("op_api", [console_script("op-api")], env))
        payment = api.start(short_lived.address("alice"), short_lived.address("bob"), "8.00")
        time.sleep(2.5)  # every token from initiation has expired now
        short_lived.answer(payment["confirmationUrl"])
        time.sleep(1.1)
        api.confirm(payment["paymentId"])  # continuation: the outgoing-payment token arrives
        time.sleep(2.5)  # …and expires before it is used (if the worker did not get there)
        final = api.until_final(payment["paymentId"])
        assert final["status"] == "completed", final
        rotations = [
            e
            for e in short_lived.exchanges()
            if e["method"] == "POST" and "/auth/token/" in e["path"]
        ]
        assert rotations, "no token was rotated"
        assert all(e["status"] == 200 for e in rotations), [
            (e["status"], e["response_body"], e["request_headers"].get("authorization"))
            for e in rotations
        ]
        assert "access token rotated" in api.proc.logs()
    finally:
        proc.stop()


@pytest.mark.node
def test_everything_op_api_sends_passes_the_referees(wallet: Wallet, op_api: Start) -> None:
    """Over real HTTP: each signed request verified by the Node utils, each body by the specs."""
    from tests.op_api.referees import node_verify

    api = op_api()
    seen = len(wallet.exchanges())
    payment = api.start(wallet.address("alice"), wallet.address("carol"), "2.50")
    wallet.answer(payment["confirmationUrl"])
    assert api.until_final(payment["paymentId"])["status"] == "completed"
    api.http.delete(
        f"/payments/{api.start(wallet.address('bob'), wallet.address('alice'), '1')['paymentId']}"
    )
    exchanges = [e for e in wallet.exchanges()[seen:] if not e["path"].startswith("/admin")]
    requests = [
        httpx.Request(
            e["method"],
            f"{wallet.url}{e['path']}" + (f"?{e['query']}" if e["query"] else ""),
            headers=e["request_headers"],
            content=e["request_body"].encode(),
        )
        for e in exchanges
    ]
    signed = [r for r in requests if "signature" in r.headers]
    kinds = {(r.method, r.url.path.split("/")[1] if r.url.path != "/" else "") for r in signed}
    assert len(signed) >= 12, kinds
    jwk_response = httpx.get(f"{wallet.address('paguito')}/jwks.json").json()["keys"][0]
    results = node_verify(signed, jwk_response)
    bad = [
        (r.method, str(r.url), res)
        for r, res in zip(signed, results, strict=True)
        if not (res["headersValid"] and res["signatureValid"] and res["canonicalBody"])
    ]
    assert bad == []
    for request in requests:
        path = request.url.path
        if path.startswith("/auth"):
            validate_request(request, "auth-server", f"{wallet.url}/auth")
        elif path.endswith("/jwks.json") or (
            path.count("/") == 1
            and path not in {"/quotes", "/incoming-payments", "/outgoing-payments"}
        ):
            validate_request(
                request, "wallet-address-server", str(request.url).removesuffix("/jwks.json")
            )
        else:
            validate_request(request, "resource-server", wallet.url)
    assert Decimal(payment["debitAmount"]["value"]) == Decimal("2.50")


def test_confirm_answers_at_once_even_when_the_wallet_hangs(wallet: Wallet, op_api: Start) -> None:
    api = op_api(CONFIRM_BUDGET_SECONDS="1")
    payment = api.start(wallet.address("alice"), wallet.address("bob"), "1.75")
    time.sleep(1.1)  # the continuation is due
    wallet.admin("POST", "/faults", json={"scope": "auth", "mode": "hang", "seconds": 4})
    try:
        started = time.monotonic()
        view = api.confirm(payment["paymentId"])
        assert time.monotonic() - started < 2.5
        assert view["status"] == "awaiting_approval"
    finally:
        wallet.admin("DELETE", "/faults")
    wallet.answer(payment["confirmationUrl"])
    assert api.until_final(payment["paymentId"])["status"] == "completed"


def test_wallet_failure_during_initiation_leaves_nothing_behind(
    wallet: Wallet, op_api: Start
) -> None:
    api = op_api()
    alice, bob = wallet.address("alice"), wallet.address("bob")
    wallet.admin("POST", "/faults", json={"scope": "resource", "mode": "error", "status": 500})
    try:
        failed = api.send(alice, bob, "2.25", idempotencyKey="flaky")
    finally:
        wallet.admin("DELETE", "/faults")
    assert failed.status_code == 502, failed.text
    assert "detail" in failed.json()
    retried = api.send(alice, bob, "2.25", idempotencyKey="flaky")
    assert retried.status_code == 201, retried.text


def _initiation_requests(wallet: Wallet, api: OpApi) -> list[tuple[str, str]]:
    seen = len(wallet.exchanges())
    payment = api.start(wallet.address("alice"), wallet.address("bob"), "1.05")
    # Counted before the cancel below, which completes the incoming payment (with a grant of
    # its own when grants are not reused): that is not part of the initiation.
    made = wallet.exchanges()[seen:]
    api.http.delete(f"/payments/{payment['paymentId']}")
    return [
        (e["method"], e["path"])
        for e in made
        if not e["path"].startswith(("/admin", "/auth/continue"))
    ]


def test_later_payments_reuse_wallet_documents_and_grants(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    first = _initiation_requests(wallet, api)
    assert sorted(first) == sorted(
        [
            ("GET", "/alice"),
            ("GET", "/bob"),
            ("POST", "/auth"),  # incoming-payment grant
            ("POST", "/auth"),  # quote grant
            ("POST", "/incoming-payments"),
            ("POST", "/quotes"),
            ("POST", "/auth"),  # outgoing-payment grant (interactive: never shared)
        ]
    )
    second = _initiation_requests(wallet, api)
    assert sorted(second) == [
        ("POST", "/auth"),
        ("POST", "/incoming-payments"),
        ("POST", "/quotes"),
    ]
    uncached = op_api(WALLET_CACHE_SECONDS="0", REUSE_GRANTS="false")
    _initiation_requests(wallet, uncached)
    assert len(_initiation_requests(wallet, uncached)) == 7
