"""The outgoing-payment step in isolation (canned wallet): re-quoting, refusals, lost answers."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from op_api import steps
from op_api.client import OpenPaymentsClient, SigningKey
from op_api.deps import Deps
from op_api.records import Status, StoredToken
from op_api.sealing import TokenSealer
from op_api.settings import Settings
from op_api.store import PaymentStore, utcnow
from tests.op_api import fake_server as fs
from tests.op_api.harness import run_async
from tests.op_api.lifecycle_paths import move_to

SEALER = TokenSealer.from_secret("tests")


async def _approved_payment(
    tmp_path: Path, server: fs.FakeServer, quote_age: timedelta, **columns: Any
) -> Deps:
    """Payment p1, approved, its quote `quote_age` old (`columns` override what it stores)."""
    settings = Settings(
        internal_api_token="t" * 20,
        wallet_address_url=fs.PLATFORM,
        data_dir=tmp_path,
    )
    store = await PaymentStore.open(None, tmp_path / "db.sqlite3", sealer=SEALER)
    await store.create_schema()
    client = OpenPaymentsClient(
        fs.PLATFORM,
        SigningKey.generate(),
        http_client=httpx.AsyncClient(transport=server.transport()),
    )
    now = utcnow()
    token = StoredToken(value="tok", manage=f"{fs.AS}/token/t", expires_at=now + timedelta(hours=1))
    values: dict[str, Any] = {
        "id": "p1",
        "fingerprint": "f",
        "sender": fs.wallet(fs.ALICE),
        "receiver": fs.wallet(fs.BOB),
        "debit_amount": fs.amount("2000"),
        "receive_amount": fs.amount("1900"),
        "incoming_payment_url": fs.INCOMING["id"],
        "incoming_token": token.dump(),
        "quote_url": f"{fs.RS}/quotes/old",
        "quote_expires_at": now - quote_age,
        "quote_token": token.dump(),
        "outgoing_token": token.dump(),
        "expires_at": now + timedelta(minutes=10),
    }
    await store.insert(**{**values, **columns})
    await move_to(store, "p1", Status.APPROVED)
    return Deps(settings=settings, client=client, store=store)


async def _create(deps: Deps) -> None:
    record = await deps.store.get("p1")
    assert record is not None
    await steps.create_outgoing_payment(deps, record)


def test_an_expired_quote_is_renewed_with_the_same_debit_amount(tmp_path: Path) -> None:
    server = fs.FakeServer()

    async def scenario() -> None:
        deps = await _approved_payment(tmp_path, server, quote_age=timedelta(minutes=1))
        await _create(deps)
        after = await deps.store.get("p1")
        assert after is not None
        assert after.status == Status.SENDING
        assert after.quote_url == fs.QUOTE["id"]
        assert after.receive_amount is not None
        assert after.receive_amount.value == "1950"  # the renewed quote's receive amount
        await deps.store.close()

    run_async(scenario())
    posts = [(r.url.path, json.loads(r.content)) for r in server.requests if r.method == "POST"]
    assert [path for path, _ in posts] == ["/quotes", "/outgoing-payments"]
    assert posts[0][1]["debitAmount"] == fs.amount("2000")
    assert posts[1][1]["quoteId"] == fs.QUOTE["id"]


def test_a_batch_payment_whose_renewed_quote_no_longer_fits_the_grant_fails_alone(
    tmp_path: Path,
) -> None:
    """Under a batch's grant (limited to the total of the quotes' debits) a renewed quote must
    debit what the first one did; the canned wallet now quotes 20.00 for a 21.00 payment."""
    server = fs.FakeServer()

    async def scenario() -> None:
        deps = await _approved_payment(
            tmp_path,
            server,
            quote_age=timedelta(minutes=1),
            debit_amount=fs.amount("2100"),
            batch_id="b1",
            grant_lead="p0",
        )
        await _create(deps)
        record = await deps.store.get("p1")
        assert record is not None
        assert record.status == Status.FAILED
        assert record.failure_reason == (
            "the expired quote could not be renewed: "
            "the renewed quote no longer fits the total approved for the batch"
        )
        await deps.store.close()

    run_async(scenario())
    assert not [r for r in server.requests if r.url.path == "/outgoing-payments"]


def test_a_fresh_quote_is_paid_as_is(tmp_path: Path) -> None:
    server = fs.FakeServer()

    async def scenario() -> None:
        deps = await _approved_payment(tmp_path, server, quote_age=-timedelta(minutes=4))
        await _create(deps)
        await deps.store.close()

    run_async(scenario())
    (post,) = [r for r in server.requests if r.method == "POST"]
    assert json.loads(post.content)["quoteId"] == f"{fs.RS}/quotes/old"


def test_a_refused_outgoing_payment_fails_the_payment(tmp_path: Path) -> None:
    server = fs.FakeServer()
    server.errors[("POST", f"{fs.RS}/outgoing-payments")] = httpx.Response(
        400, json={"error": {"code": "invalid_request", "description": "insufficient balance"}}
    )

    async def scenario() -> None:
        deps = await _approved_payment(tmp_path, server, quote_age=-timedelta(minutes=4))
        await _create(deps)
        record = await deps.store.get("p1")
        assert record is not None
        assert record.status == Status.FAILED
        assert record.failure_reason == "outgoing payment refused: insufficient balance"
        await deps.store.close()

    run_async(scenario())


def test_a_lost_answer_is_retried_and_a_refused_retry_is_not_a_failure(tmp_path: Path) -> None:
    """Timeout after sending: the retry is safe (the wallet refuses a second outgoing payment
    for the same quote), and that refusal then means "maybe created": watch the receiver."""
    server = fs.FakeServer()
    spent = {"error": {"code": "forbidden", "description": "limit spent"}}
    answers: list[Exception | httpx.Response] = [
        httpx.ReadTimeout("lost"),
        httpx.Response(403, json=spent),
        httpx.Response(403, json=spent),  # again after the token is rotated, just in case
    ]

    def lossy(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/outgoing-payments":
            server.requests.append(request)
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        return fs.FakeServer.handle(server, request)

    server.handle = lossy  # type: ignore[method-assign]

    async def scenario() -> None:
        deps = await _approved_payment(tmp_path, server, quote_age=-timedelta(minutes=4))
        await _create(deps)
        between = await deps.store.get("p1")
        assert between is not None
        assert between.status == Status.APPROVED
        assert between.op_uncertain_since is not None
        await _create(deps)
        after = await deps.store.get("p1")
        assert after is not None
        assert after.status == Status.SENDING  # not failed: the first one may have gone through
        assert after.outgoing_payment_url is None
        await deps.store.close()

    run_async(scenario())
    posts = [r for r in server.requests if r.method == "POST" and r.url.path.endswith("payments")]
    assert len(posts) >= 2


def test_a_5xx_is_retried_until_created(tmp_path: Path) -> None:
    server = fs.FakeServer()
    server.errors[("POST", f"{fs.RS}/outgoing-payments")] = httpx.Response(500, json={})

    async def scenario() -> None:
        deps = await _approved_payment(tmp_path, server, quote_age=-timedelta(minutes=4))
        await _create(deps)
        del server.errors[("POST", f"{fs.RS}/outgoing-payments")]
        await _create(deps)
        after = await deps.store.get("p1")
        assert after is not None
        assert after.status == Status.SENDING
        assert after.outgoing_payment_url == fs.OUTGOING["id"]
        await deps.store.close()

    run_async(scenario())


def test_an_unreachable_wallet_is_retried_later(tmp_path: Path) -> None:
    """No connection means the POST never left: the claim is released and a later step pays."""
    server = fs.FakeServer()
    refusals = [httpx.ConnectError("refused")]

    def flaky(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/outgoing-payments" and refusals:
            raise refusals.pop()
        return fs.FakeServer.handle(server, request)

    server.handle = flaky  # type: ignore[method-assign]

    async def scenario() -> None:
        deps = await _approved_payment(tmp_path, server, quote_age=-timedelta(minutes=4))
        await _create(deps)
        between = await deps.store.get("p1")
        assert between is not None
        assert between.status == Status.APPROVED
        assert between.op_claimed_at is None
        await _create(deps)
        after = await deps.store.get("p1")
        assert after is not None
        assert after.status == Status.SENDING
        assert after.outgoing_payment_url == fs.OUTGOING["id"]
        await deps.store.close()

    run_async(scenario())


def test_a_failed_initiation_nobody_retries_is_forgotten_and_its_incoming_payment_completed(
    tmp_path: Path,
) -> None:
    """Kept for a same-key retry that never came: the runner's sweep completes the incoming
    payment at the receiver and drops the placeholder; a recent failure is left alone."""
    from op_api.initiation import ABANDONED_AFTER
    from op_api.runner import PaymentRunner

    server = fs.FakeServer()

    async def scenario() -> None:
        deps = await _approved_payment(tmp_path, server, quote_age=-timedelta(minutes=4))
        token = StoredToken(value="tok", manage=f"{fs.AS}/token/t").dump()
        for payment_id, failed in [
            ("old", utcnow() - ABANDONED_AFTER - timedelta(seconds=1)),
            ("recent", utcnow()),
        ]:
            await deps.store.insert(
                id=payment_id,
                idempotency_key=payment_id,
                fingerprint="f",
                receiver=fs.wallet(fs.BOB),
                incoming_payment_url=fs.INCOMING["id"],
                incoming_token=token,
                initiation_failed_at=failed,
                expires_at=utcnow(),
            )
        runner = PaymentRunner(deps)
        await runner.sweep()
        await runner.stop()  # the sweep also advanced the approved payment: let it finish
        assert await deps.store.get("old") is None
        recent = await deps.store.get("recent")
        assert recent is not None
        assert recent.status == Status.INITIATING
        await deps.store.close()

    run_async(scenario())
    completions = [r for r in server.requests if r.url.path.endswith("/complete")]
    assert len(completions) == 1


# ------------------------------------------------------------ a batch's shared token


async def _batch_follower(tmp_path: Path, server: fs.FakeServer, lead_token: str) -> Deps:
    """p1 follows p0's grant (a batch); p1's copy of the token ("tok") has expired, and p0 holds
    `lead_token`."""
    expired = StoredToken(value="tok", manage=f"{fs.AS}/token/t", expires_at=utcnow())
    deps = await _approved_payment(
        tmp_path,
        server,
        quote_age=-timedelta(minutes=4),
        batch_id="b1",
        grant_lead="p0",
        outgoing_token=expired.dump(),
    )
    lead = StoredToken(value=lead_token, manage=f"{fs.AS}/token/t", expires_at=None)
    await deps.store.insert(
        id="p0",
        fingerprint="f",
        batch_id="b1",
        outgoing_token=lead.dump(),
        expires_at=utcnow() + timedelta(minutes=10),
    )
    await move_to(deps.store, "p0", Status.APPROVED)
    return deps


async def _tokens(deps: Deps) -> list[str | None]:
    records = [await deps.store.get(i) for i in ("p0", "p1")]
    return [r.outgoing_token.value if r and r.outgoing_token else None for r in records]


def _rotations(server: fs.FakeServer) -> int:
    return len([r for r in server.requests if r.url.path.startswith("/token/")])


def test_a_batch_payment_takes_the_token_its_lead_already_rotated(tmp_path: Path) -> None:
    server = fs.FakeServer()

    async def scenario() -> None:
        deps = await _batch_follower(tmp_path, server, lead_token="tok-9")
        await _create(deps)
        assert await _tokens(deps) == ["tok-9", "tok-9"]
        await deps.store.close()

    run_async(scenario())
    assert _rotations(server) == 0  # rotating the old token would have revoked nothing useful
    (post,) = [r for r in server.requests if r.url.path == "/outgoing-payments"]
    assert post.headers["authorization"] == "GNAP tok-9"


def test_a_batch_payment_rotating_the_shared_token_gives_it_to_its_lead(tmp_path: Path) -> None:
    server = fs.FakeServer()

    async def scenario() -> None:
        deps = await _batch_follower(tmp_path, server, lead_token="tok")
        await _create(deps)
        assert await _tokens(deps) == ["tok-2", "tok-2"]
        await deps.store.close()

    run_async(scenario())
    assert _rotations(server) == 1


def test_a_rotation_lost_to_another_batch_payment_takes_the_winners_token(tmp_path: Path) -> None:
    server = fs.FakeServer()
    server.errors[("POST", f"{fs.AS}/token/t")] = httpx.Response(
        401, json={"error": {"code": "invalid_token", "description": "Inactive Token"}}
    )

    async def scenario() -> None:
        deps = await _batch_follower(tmp_path, server, lead_token="tok")

        async def winner() -> None:  # another payment of the batch rotated it first
            await asyncio.sleep(0.1)
            token = StoredToken(value="tok-7", manage=f"{fs.AS}/token/t")
            await deps.store.update("p0", outgoing_token=token.dump())

        await asyncio.gather(_create(deps), winner())
        assert await _tokens(deps) == ["tok-7", "tok-7"]
        record = await deps.store.get("p1")
        assert record is not None
        assert record.status == Status.SENDING
        await deps.store.close()

    run_async(scenario())
