"""Scheduled payments (issue 17) against the fake op_api: the summary, one approval of a link
whose allowance matches the schedule, runs on time without further approval (announced to both
people), the list with Stop, failed runs reported and never retried, a restart, and two
replicas sharing one database running each run once. `INTERVAL_OVERRIDE` shortens
"every week" to a few seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from tests.support.processes import console_script, free_port, make_spawner
from tests.trust.support import PG_SERVER, pg_database, sql
from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import (
    Message,
    Stack,
    approval_url,
    buttons_of,
    start_stack,
    text_of,
)
from ws_bot.cadence import parse
from ws_bot.schedules import allowance_for
from ws_bot.settings import Settings

INTERVAL = 4.0
OVERRIDE = {"INTERVAL_OVERRIDE": f"PT{int(INTERVAL)}S"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    spawn, started = make_spawner(tmp_path_factory.mktemp("schedules"))
    try:
        yield start_stack(spawn, extra_env=OVERRIDE)
    finally:
        for proc in reversed(started):
            proc.stop()


class Fake:
    """The fake op_api's test endpoints for payments and links."""

    def __init__(self, base: str) -> None:
        self.base = base

    def payments(self, prefix: str) -> list[dict[str, Any]]:
        listed = httpx.get(self.base + "/_test/payments").json()
        return [p for p in listed if (p["idempotency_key"] or "").startswith(prefix)]

    def link(self, link_id: str) -> dict[str, Any]:
        listed = httpx.get(self.base + "/_test/links").json()
        return dict(next(k for k in listed if k["linkId"] == link_id))

    def revoke_at_wallet(self, link_id: str) -> None:
        httpx.post(f"{self.base}/_test/links/{link_id}/revoke-at-wallet").raise_for_status()

    def run_outcome(self, link_id: str, status: str) -> None:
        r = httpx.post(f"{self.base}/_test/links/{link_id}/run-outcome", json={"status": status})
        r.raise_for_status()


def fake_of(stack: Stack) -> Fake:
    assert stack.backends is not None
    return Fake(stack.backends.url)


def users(stack: Stack, alice: str, bob: str) -> None:
    """Bob and Alice on Paguito; Alice has Bob's card (so Bob is told when paid)."""
    phone = stack.phone
    phone.onboard(bob, "Bob", pointer(stack.wallet("bob")))
    phone.onboard(alice, "Alice", pointer(stack.wallet("alice")))
    n = phone.count(alice)
    phone.act(alice, type="contacts", contacts=[{"name": "Bob", "waId": bob}])
    phone.wait_text(alice, "Saved Bob", after=n)


def schedule(stack: Stack, wa_id: str, text: str, confirm: str = "Confirm") -> Message:
    """Ask for a schedule, wait for its summary, tap Confirm: the approval message."""
    phone = stack.phone
    n = phone.count(wa_id)
    phone.say(wa_id, text)
    phone.wait_for(wa_id, lambda m: confirm in buttons_of(m), after=n)
    n = phone.count(wa_id)
    phone.tap(wa_id, confirm)
    return phone.wait_for(wa_id, lambda m: approval_url(m) is not None, after=n)


def approve(stack: Stack, wa_id: str, approval: Message) -> tuple[str, str]:
    """Approve the link at the (fake) wallet; (link id, schedule id) once the first run is
    announced (its idempotency key names the schedule)."""
    url = approval_url(approval)
    assert url is not None
    link_id = url.rstrip("/").rsplit("/", 1)[-1]
    n = stack.phone.count(wa_id)
    stack.phone.answer(url, "approve")
    stack.phone.wait_text(wa_id, "Scheduled payment active", after=n)
    stack.phone.wait_text(wa_id, "Scheduled payment #1:", after=n)
    run = next(p for p in fake_of(stack).payments("schedule:") if p["link_id"] == link_id)
    return link_id, str(run["idempotency_key"]).split(":")[1]


def run_messages(stack: Stack, wa_id: str) -> list[str]:
    return [text_of(m) for m in stack.phone.bot_messages(wa_id) if "⏰" in text_of(m)]


def wait_run(stack: Stack, wa_id: str, run: int, timeout: float = 20) -> None:
    stack.phone.wait_text(wa_id, f"Scheduled payment #{run}:", timeout=timeout)


def test_weekly_schedule_pays_on_time_with_one_approval_then_stops(stack: Stack, uid) -> None:
    phone, alice, bob, fake = stack.phone, uid(), uid(), fake_of(stack)
    users(stack, alice, bob)
    n = phone.count(alice)
    phone.say(alice, "pay 5 to bob every week")
    summary = text_of(phone.wait_for(alice, lambda m: "Confirm" in buttons_of(m), after=n))
    assert "5.00 USD to Bob every week, the first one today" in summary
    assert "5.10 USD" in summary  # one run's debit, fee included
    assert "up to 5.61 USD every week" in summary  # + 10% margin, rounded up
    quote = fake.payments("schedule-quote:")
    assert quote
    assert all(p["cancelled"] for p in quote)  # the quote was never a payment

    n = phone.count(alice)
    phone.tap(alice, "Confirm")
    approval = phone.wait_for(alice, lambda m: approval_url(m) is not None, after=n)
    link_id, schedule_id = approve(stack, alice, approval)
    link = fake.link(link_id)
    assert link["walletUrl"] == stack.wallet("alice")
    assert link["allowance"]["value"] == "5.61"
    assert link["interval"] == f"PT{int(INTERVAL)}S"

    phone.wait_text(alice, "Payment sent")
    phone.wait_text(bob, "Alice sent you 5.00 USD")
    started = time.monotonic()
    wait_run(stack, alice, 2)
    assert time.monotonic() - started < INTERVAL + 3  # on time, with no approval in between
    runs = fake.payments(f"schedule:{schedule_id}:")
    assert sorted(p["idempotency_key"] for p in runs)[:2] == [
        f"schedule:{schedule_id}:1",
        f"schedule:{schedule_id}:2",
    ]
    for p in runs:
        assert p["link_id"] == link_id
        assert p["amount_type"] == "receive"
        assert Decimal(p["amount"]) == 5
        assert p["authorized"] == 1
        assert p["receiver_wallet_url"] == stack.wallet("bob")

    n = phone.count(alice)
    phone.say(alice, "my scheduled payments")
    listing = phone.wait_for(alice, lambda m: "Stop: 5.00 USD to Bob" in buttons_of(m), after=n)
    assert "every week" in text_of(listing)
    n = phone.count(alice)
    phone.pick(alice, "Stop: 5.00 USD to Bob")
    phone.wait_text(alice, "I stopped the scheduled payment of 5.00 USD to Bob", after=n)
    assert fake.link(link_id)["status"] == "revoked"  # its grant revoked at the wallet
    made = len(fake.payments(f"schedule:{schedule_id}:"))
    time.sleep(INTERVAL * 2)
    assert len(fake.payments(f"schedule:{schedule_id}:")) == made  # nothing after Stop
    n = phone.count(alice)
    phone.say(alice, "my scheduled payments")
    phone.wait_text(alice, "no scheduled payments", after=n)


def test_failed_runs_are_reported_not_retried(stack: Stack, uid) -> None:
    phone, alice, bob, fake = stack.phone, uid(), uid(), fake_of(stack)
    users(stack, alice, bob)
    link_id, schedule_id = approve(stack, alice, schedule(stack, alice, "pay 3 to bob every week"))
    phone.wait_text(alice, "Payment sent")

    # A run whose payment fails at the wallet: reported like any payment, then the next runs.
    fake.run_outcome(link_id, "failed")
    wait_run(stack, alice, 2)
    phone.wait_text(alice, "failed")
    second = fake.payments(f"schedule:{schedule_id}:2")
    assert [p["asks"] for p in second] == [1]  # never asked again

    # Revoked at the wallet: the next run would need a consent page. It is withdrawn, told,
    # and the schedule ends.
    fake.run_outcome(link_id, "completed")
    fake.revoke_at_wallet(link_id)
    phone.wait_text(alice, "permission was revoked at your wallet", timeout=20)
    withdrawn = [p for p in fake.payments(f"schedule:{schedule_id}:") if p["cancelled"]]
    assert len(withdrawn) == 1
    assert withdrawn[0]["authorized"] == 0
    made = len(fake.payments(f"schedule:{schedule_id}:"))
    time.sleep(INTERVAL * 1.5)
    assert len(fake.payments(f"schedule:{schedule_id}:")) == made


def test_unlinking_the_wallet_ends_its_schedules(stack: Stack, uid) -> None:
    """ "desvincular": the wallet is unverified, so its schedule pays nothing more."""
    phone, alice, bob, fake = stack.phone, uid(), uid(), fake_of(stack)
    users(stack, alice, bob)
    link_id, schedule_id = approve(stack, alice, schedule(stack, alice, "pay 1 to bob every week"))
    n = phone.count(alice)
    phone.say(alice, "unlink")
    phone.wait_text(alice, "unlinked", after=n)
    phone.wait_text(alice, "no longer linked to this number", after=n, timeout=20)
    assert fake.link(link_id)["status"] == "revoked"  # the schedule's own grant too
    made = len(fake.payments(f"schedule:{schedule_id}:"))
    time.sleep(INTERVAL * 1.5)
    assert len(fake.payments(f"schedule:{schedule_id}:")) == made


def test_schedule_survives_a_restart(stack: Stack, uid) -> None:
    alice, bob, fake = uid(), uid(), fake_of(stack)
    users(stack, alice, bob)
    _, schedule_id = approve(stack, alice, schedule(stack, alice, "pay 2 to bob every week"))
    stack.restart_bot(kill=True)
    wait_run(stack, alice, 2, timeout=30)
    runs = fake.payments(f"schedule:{schedule_id}:")
    keys = [p["idempotency_key"] for p in runs]
    assert len(keys) == len(set(keys))
    first_two = {f"schedule:{schedule_id}:1", f"schedule:{schedule_id}:2"}
    assert first_two <= set(keys)
    # A third run may already be on its way (the test cadence is seconds): only the two
    # finished ones are known to be authorised.
    assert all(p["authorized"] == 1 for p in runs if p["idempotency_key"] in first_two)


def test_spanish_summary_cancel_typed_yes_and_unknown_recipient(stack: Stack, uid) -> None:
    phone, ana, bob = stack.phone, uid(), uid()
    phone.onboard(bob, "Bob", pointer(stack.wallet("bob")))
    phone.onboard(ana, "Ana", pointer(stack.wallet("alice")), lang="Español")
    n = phone.count(ana)
    phone.say(ana, "mándale 10 a zed cada mes")
    phone.wait_text(ana, "necesito su billetera", after=n)
    n = phone.count(ana)
    phone.act(ana, type="contacts", contacts=[{"name": "Bob", "waId": bob}])
    phone.wait_text(ana, "Bob", after=n)
    n = phone.count(ana)
    phone.say(ana, "mándale 10 a Bob cada mes")
    summary = phone.wait_for(ana, lambda m: "Confirmar" in buttons_of(m), after=n)
    assert "10.00 USD a Bob cada mes, el primero hoy" in text_of(summary)
    n = phone.count(ana)
    phone.tap(ana, "Cancelar")
    phone.wait_text(ana, "Cancelado: 10.00 USD a Bob cada mes", after=n)
    n = phone.count(ana)
    phone.say(ana, "mándale 10 a Bob cada día")
    phone.wait_for(ana, lambda m: "Confirmar" in buttons_of(m), after=n)
    n = phone.count(ana)
    phone.say(ana, "cancelar")  # typed, as the button would
    phone.wait_text(ana, "Cancelado: 10.00 USD a Bob cada día", after=n)
    n = phone.count(ana)
    phone.say(ana, "mis pagos programados")
    phone.wait_text(ana, "No tienes pagos programados", after=n)
    # A typed "sí" confirms the newest schedule summary, as its button would.
    n = phone.count(ana)
    phone.say(ana, "mándale 10 a Bob cada semana")
    phone.wait_for(ana, lambda m: "Confirmar" in buttons_of(m), after=n)
    n = phone.count(ana)
    phone.say(ana, "sí")
    approval = phone.wait_for(ana, lambda m: approval_url(m) is not None, after=n)
    assert "10.00 USD a Bob cada semana" in text_of(approval)
    n = phone.count(ana)
    phone.say(ana, "mis pagos programados")
    phone.wait_text(ana, "esperando tu aprobación", after=n)


# ---------------------------------------------------------------- two replicas, one database


@pytest.mark.postgres
def test_two_replicas_run_each_run_once(tmp_path_factory: pytest.TempPathFactory, uid) -> None:
    try:
        sql(PG_SERVER, "SELECT 1")
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"no PostgreSQL: {exc}")
    spawn, started = make_spawner(tmp_path_factory.mktemp("schedule_replicas"))
    with pg_database() as database_url:
        _two_replicas(spawn, started, database_url, uid)


def _two_replicas(spawn: Any, started: list[Any], database_url: str, uid: Any) -> None:
    try:
        stack = start_stack(spawn, extra_env=OVERRIDE, database_url=database_url)
        other_env = {**stack.bot_env, "REPLICA_ID": "ws-bot-other", "DATABASE_URL": database_url}
        spawn("ws_bot_2", [console_script("ws-bot")], env=other_env, port=free_port())
        alice, bob, fake = uid(), uid(), fake_of(stack)
        users(stack, alice, bob)
        _, schedule_id = approve(stack, alice, schedule(stack, alice, "pay 4 to bob every week"))
        wait_run(stack, alice, 3, timeout=30)
        runs = fake.payments(f"schedule:{schedule_id}:")
        assert len(runs) >= 3
        # Each run was asked of op_api by exactly one replica, once, and paid once.
        assert all(p["asks"] == 1 and p["authorized"] == 1 for p in runs), runs
        announced = run_messages(stack, alice)
        for run in (1, 2, 3):
            assert sum(f"#{run}:" in text for text in announced) == 1, announced
    finally:
        for proc in reversed(started):
            proc.stop()


# ---------------------------------------------------------------- units


def test_cadence_counts_each_run_from_the_first() -> None:
    from datetime import UTC, datetime

    monthly = parse("P1M")
    first = datetime(2026, 1, 31, 9, tzinfo=UTC).timestamp()
    runs = [datetime.fromtimestamp(monthly.run_at(first, k), UTC).date() for k in range(4)]
    assert [str(d) for d in runs] == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]
    assert parse("P1W").run_at(0, 2) == 14 * 86400
    assert parse("PT5S").shortest_seconds == 5
    for bad in ("P", "PT", "P0D", "1W", "P1X", "P1DT"):
        with pytest.raises(ValueError):
            parse(bad)


def test_allowance_is_one_debit_plus_the_margin_rounded_up() -> None:
    assert allowance_for("5.10", 2) == "5.61"
    assert allowance_for("10.01", 2) == "11.02"  # 11.011 rounded up, never down
    assert allowance_for("7", 0) == "8"


def test_interval_override_is_refused_outside_the_sandbox() -> None:
    base: dict[str, Any] = {
        "internal_api_token": "x" * 20,
        "meta_app_secret": "s" * 20,
        "meta_access_token": "t",
        "meta_phone_id": "1",
    }
    sandbox = {**base, "allow_insecure_http": True}
    with pytest.raises(ValidationError, match="development only"):
        Settings.model_validate({**base, "interval_override": "PT5S"})
    with pytest.raises(ValidationError):
        Settings.model_validate({**sandbox, "interval_override": "PT0S"})
    assert Settings.model_validate({**sandbox, "interval_override": "PT5S"})
