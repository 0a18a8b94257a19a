"""The app factory and internal auth, in process: error shapes, limits, token checks."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import SecretStr

from shared.app import answered_directly, create_service_app, direct_routes, quiet_access_log
from shared.auth import require_internal_token
from shared.http import RetryPolicy, RetryTransport, create_client
from shared.logging import configure_logging
from shared.request_id import request_id_scope
from shared.settings import ServiceSettings

TOKEN = "a-valid-internal-token-123"


def make_app(max_body: int = 1000):
    settings = ServiceSettings(internal_api_token=SecretStr(TOKEN), max_body_bytes=max_body)
    app = create_service_app(name="t", settings=settings)

    @app.post("/internal", dependencies=[Depends(require_internal_token)])
    async def internal(body: dict[str, object]) -> dict[str, object]:
        return body

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError(f"leaky {TOKEN}")

    @app.post("/ack")
    @quiet_access_log
    async def ack(body: dict[str, object]) -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/direct")
    @quiet_access_log
    @answered_directly
    async def direct(request: Request) -> Response:
        body = await request.body()
        if body == b"refuse":
            raise HTTPException(409, "refused")
        if body == b"crash":
            raise RuntimeError(f"leaky {TOKEN}")
        # FastAPI's router sets the route in the scope: it is absent when the middleware answers.
        routed = "router" if "route" in request.scope else "middleware"
        return Response(f"{routed}:{len(body)}:{request.app.state.service_name}".encode())

    # As a service declares its routes: on a router of its own, included with a prefix.
    included = APIRouter(prefix="/hooks")

    @included.post("/in")
    @answered_directly
    async def included_direct(request: Request) -> Response:
        return Response(b"router" if "route" in request.scope else b"middleware")

    app.include_router(included)
    return app


@pytest.fixture
def client():
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=make_app(), raise_app_exceptions=False),
        base_url="http://t",
    )


async def test_internal_token(client) -> None:
    ok = await client.post("/internal", json={"a": 1}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    missing = await client.post("/internal", json={})
    assert missing.status_code == 401
    assert "Missing internal token" in missing.json()["detail"]
    wrong = await client.post("/internal", json={}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "Invalid internal token."


async def test_unhandled_error_is_a_clean_500_without_secrets(client) -> None:
    r = await client.get("/boom")
    assert r.status_code == 500
    assert TOKEN not in r.text
    assert r.json()["requestId"] == r.headers["x-request-id"]


async def test_oversized_body_is_413(client) -> None:
    big = b'{"a":"' + b"x" * 2000 + b'"}'
    r = await client.post("/internal", content=big, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 413
    assert "too large" in r.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"x" * 400

    streamed = await client.post(
        "/internal", content=chunks(), headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert streamed.status_code == 413


async def test_one_middleware_sets_request_ids_on_every_answer(client) -> None:
    kept = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    replaced = await client.get("/health", headers={"X-Request-ID": "bad id\nforged"})
    assert replaced.headers["x-request-id"] not in ("", "bad id\nforged")
    big = await client.post("/internal", content=b"x" * 2000, headers={"X-Request-ID": "r-413"})
    assert (big.status_code, big.headers["x-request-id"]) == (413, "r-413")
    boom = await client.get("/boom", headers={"X-Request-ID": "r-500"})
    assert (boom.status_code, boom.headers["x-request-id"]) == (500, "r-500")


async def test_quiet_routes_log_successes_at_debug_and_failures_at_info(client, caplog) -> None:
    caplog.set_level(logging.INFO, logger="paguito.access")
    assert (await client.post("/ack", json={})).status_code == 200
    assert [r for r in caplog.records if r.name == "paguito.access"] == []
    assert (await client.post("/ack", content=b"[")).status_code == 422
    assert (await client.post("/internal", json={})).status_code == 401
    lines = [(r.levelno, r.__dict__["path"], r.__dict__["status"]) for r in caplog.records]
    assert lines == [(logging.INFO, "/ack", 422), (logging.INFO, "/internal", 401)]
    caplog.set_level(logging.DEBUG, logger="paguito.access")
    await client.post("/ack", json={})
    assert caplog.records[-1].levelno == logging.DEBUG


async def answered_200(client, route: str) -> float:
    """paguito_http_requests_total for `route` with status 200, from /metrics (0 if absent)."""
    text = (await client.get("/metrics")).text
    return next(
        (
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("paguito_http_requests_total{")
            and f'route="{route}"' in line
            and 'status="200"' in line
        ),
        0.0,
    )


async def test_requests_are_counted_by_route_template(client) -> None:
    for _ in range(3):
        await client.post("/ack", json={})
    assert await answered_200(client, "/ack") >= 3


def test_short_internal_token_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        ServiceSettings(internal_api_token=SecretStr("short"))


class FlakyTransport(httpx.AsyncBaseTransport):
    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.seen: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return httpx.Response(self.statuses[min(len(self.seen) - 1, len(self.statuses) - 1)])


async def test_client_retries_idempotent_calls_only() -> None:
    flaky = FlakyTransport([503, 503, 200])
    async with create_client(base_url="http://x", transport=flaky, bearer_token=TOKEN) as c:
        with request_id_scope("rid-123"):
            r = await c.get("/thing")
    assert r.status_code == 200
    assert len(flaky.seen) == 3
    assert flaky.seen[0].headers["x-request-id"] == "rid-123"
    assert flaky.seen[0].headers["authorization"] == f"Bearer {TOKEN}"

    once = FlakyTransport([503, 200])
    async with create_client(base_url="http://x", transport=once) as c:
        r = await c.post("/pay", json={})
    assert r.status_code == 503
    assert len(once.seen) == 1  # a POST is never retried blindly


async def test_each_retry_is_logged_with_its_attempt(caplog) -> None:
    # The first try runs before tenacity is involved; the retries it leads to are counted and
    # logged from it all the same.
    caplog.set_level(logging.WARNING, logger="shared.http")
    flaky = FlakyTransport([503, 503, 200])
    policy = RetryPolicy(attempts=3, backoff_initial=0.01, backoff_max=0.01)
    async with httpx.AsyncClient(transport=RetryTransport(flaky, policy)) as c:
        assert (await c.get("http://x/")).status_code == 200
    retries = [r for r in caplog.records if r.getMessage() == "retrying outgoing call"]
    assert [r.__dict__["attempt"] for r in retries] == [1, 2]
    assert len(flaky.seen) == 3


async def test_client_gives_back_last_answer_when_out_of_attempts() -> None:
    always = FlakyTransport([503])
    policy = RetryPolicy(attempts=2, backoff_initial=0.01, backoff_max=0.01)
    transport = RetryTransport(always, policy)
    async with httpx.AsyncClient(transport=transport) as c:
        r = await c.get("http://x/")
    assert r.status_code == 503
    assert len(always.seen) == 2


class BrokenTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        raise httpx.ReadTimeout("no answer", request=request)


async def test_a_policy_can_retry_refused_posts_but_never_timed_out_ones() -> None:
    policy = RetryPolicy(attempts=3, backoff_initial=0.01, any_method_on_status=True)
    refused = FlakyTransport([503, 200])
    async with httpx.AsyncClient(transport=RetryTransport(refused, policy)) as c:
        assert (await c.post("http://x/send", json={})).status_code == 200
    assert len(refused.seen) == 2

    broken = BrokenTransport()
    async with httpx.AsyncClient(transport=RetryTransport(broken, policy)) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.post("http://x/send", json={})
    assert broken.calls == 1  # the POST may have been carried out: not sent again


async def test_retry_after_is_honoured_up_to_the_cap() -> None:
    class SaysWait(FlakyTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            self.seen.append(request)
            if len(self.seen) == 1:
                return httpx.Response(429, headers={"Retry-After": "30"})
            return httpx.Response(200)

    policy = RetryPolicy(attempts=2, backoff_initial=0.01, backoff_max=0.3)
    slow = SaysWait([])
    started = time.monotonic()
    async with httpx.AsyncClient(transport=RetryTransport(slow, policy)) as c:
        assert (await c.get("http://x/")).status_code == 200
    assert 0.3 <= time.monotonic() - started < 5  # waited the capped Retry-After, not 30 s


async def test_a_direct_route_is_answered_by_the_middleware_with_everything_it_adds(
    client, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="paguito.access")
    r = await client.post("/direct", content=b"abc", headers={"X-Request-ID": "r-direct"})
    assert (r.status_code, r.text, r.headers["x-request-id"]) == (200, "middleware:3:t", "r-direct")
    assert [rec for rec in caplog.records if rec.name == "paguito.access"] == []  # still quiet
    refused = await client.post("/direct", content=b"refuse")
    assert (refused.status_code, refused.json()) == (409, {"detail": "refused"})
    crashed = await client.post("/direct", content=b"crash")
    assert crashed.status_code == 500
    assert TOKEN not in crashed.text
    big = await client.post("/direct", content=b"x" * 2000)
    assert big.status_code == 413
    assert await answered_200(client, "/direct") >= 1
    # Other methods and paths are FastAPI's as before; in OpenAPI the route is as declared.
    assert (await client.get("/direct")).status_code == 405
    assert "/direct" in (await client.get("/openapi.json")).json()["paths"]


async def test_a_direct_route_on_an_included_router_is_answered_by_the_middleware(client) -> None:
    # FastAPI keeps an included router as one entry of app.router.routes: the middleware must
    # look inside it, or the route is silently served by the full FastAPI stack.
    r = await client.post("/hooks/in", content=b"x")
    assert (r.status_code, r.text) == (200, "middleware")
    assert ("POST", "/hooks/in") in direct_routes(make_app().router.routes)


async def test_a_direct_route_without_content_length_goes_through_fastapi(client) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"c"

    r = await client.post("/direct", content=chunks())
    assert (r.status_code, r.text) == (200, "router:3:t")


def test_pywa_logs_each_update_only_at_debug() -> None:
    # pywa writes "Finished processing update" at INFO for the message and each of its
    # statuses; at LOG_LEVEL=INFO those lines are dropped, its warnings are not.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    handled = logging.getLogger("pywa_async.server")
    try:
        configure_logging("t", "INFO")
        assert not handled.isEnabledFor(logging.INFO)
        assert handled.isEnabledFor(logging.WARNING)
        assert logging.getLogger("ws_bot.worker").isEnabledFor(logging.INFO)
        configure_logging("t", "DEBUG")
        assert handled.isEnabledFor(logging.DEBUG)
    finally:
        root.handlers = handlers
        root.setLevel(level)
        for name in ("pywa", "pywa_async"):
            logging.getLogger(name).setLevel(logging.NOTSET)
