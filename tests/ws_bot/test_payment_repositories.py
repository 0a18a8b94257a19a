"""Drafts, contacts and followed payments on plain SQL (issue 12), on SQLite and PostgreSQL: each
exactly-once step still has one winner, and what is read back is what was written."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.ws_bot import databases
from tests.ws_bot.support import run_async
from ws_bot import draft_store, payment_store
from ws_bot.store import Store

either_database = databases.either_database  # each test runs on SQLite and PostgreSQL


async def _open(url: str | None, tmp: Path) -> Store:
    store = await Store.open(url, tmp / "ws.sqlite3")
    await store.create()
    return store


def _draft(draft_id: str, wa_id: str, status: draft_store.DraftStatus) -> draft_store.Draft:
    return draft_store.Draft(
        id=draft_id,
        wa_id=wa_id,
        status=status,
        amount="50",
        currency="MXN",
        recipient_label="María " + "x" * 300,
        receiver_wallet=None,
        receiver_wa_id=None,
        source_message_id=f"wamid.{draft_id}",
        payment_id=None,
        quote=None,
        confirmed_by=None,
    )


def test_drafts(database_url: str | None, tmp_path: Path) -> None:
    run_async(lambda: _drafts(database_url, tmp_path))


async def _drafts(url: str | None, tmp: Path) -> None:
    store = await _open(url, tmp)
    drafts = store.drafts
    D = draft_store.DraftStatus
    try:
        assert await drafts.create(_draft("d1", "111", D.COLLECTING)) == []
        current = await drafts.current("111")
        assert current is not None
        assert (current.id, current.status, current.quote) == ("d1", D.COLLECTING, None)
        assert current.recipient_label == ("María " + "x" * 300)[:256]
        quote = {"debit": "50.00 MXN", "fee": {"value": "0.10"}}
        assert await drafts.update("d1", (D.COLLECTING,), status=D.QUOTED, quote=quote)
        assert not await drafts.update("d1", (D.COLLECTING,), amount="60")
        # A new request supersedes the open draft and hands it back (its payment to cancel).
        (replaced,) = await drafts.create(_draft("d2", "111", D.COLLECTING))
        assert (replaced.id, replaced.status, replaced.quote) == ("d1", D.QUOTED, quote)
        old = await drafts.get("d1")
        assert old is not None
        assert old.status == D.SUPERSEDED
        current = await drafts.current("111")
        assert current is not None
        assert current.id == "d2"
        # Two confirmations of one quoted draft at once: exactly one moves it.
        assert await drafts.update("d2", draft_store.OPEN_DRAFT, status=D.QUOTED, amount=None)
        won = await asyncio.gather(
            *(
                drafts.update("d2", (D.QUOTED,), status=D.CONFIRMED, confirmed_by=f"wamid.{i}")
                for i in range(5)
            )
        )
        assert won.count(True) == 1
        assert await drafts.current("111") is None
        assert await drafts.update("d2", (D.CONFIRMED,), receiver_wallet="https://w.example/m")
        confirmed = await drafts.recent_confirmed("111", "https://w.example/m", time.time() - 60)
        assert [(d.id, d.amount) for d in confirmed] == [("d2", None)]
        assert await drafts.recent_confirmed("111", "https://w.example/m", time.time() + 1) == []
        assert await drafts.get("nope") is None
        with pytest.raises(ValueError, match="not a draft column"):
            await drafts.update("d2", (D.CONFIRMED,), wa_id="222")
    finally:
        await store.close()


def test_contacts(database_url: str | None, tmp_path: Path) -> None:
    run_async(lambda: _contacts(database_url, tmp_path))


async def _contacts(url: str | None, tmp: Path) -> None:
    store = await _open(url, tmp)
    book = store.contacts
    try:
        await book.save("111", "José Pérez", "https://w.example/jose")
        await book.save("111", "  jose   PEREZ ", None, "+5215550001111")  # the same name
        await book.save("111", "Juan García", "https://w.example/jg")
        await book.save("222", "Juan Pérez", "https://w.example/jp")
        # Saves of one new name at once: one row, no refusal.
        await asyncio.gather(
            *(book.save("111", "Ana", f"https://w.example/ana{i}") for i in range(5))
        )
        found = await book.find("111", "JOSE perez")
        assert found is not None
        assert (found.alias, found.wallet_url, found.phone) == (
            "jose   PEREZ",
            None,
            "+5215550001111",
        )
        assert [c.alias for c in await book.book("111")] == ["Ana", "jose   PEREZ", "Juan García"]
        assert [c.alias for c in await book.match("111", "juan")] == ["Juan García"]
        assert await book.delete("111", "Ana")
        assert not await book.delete("111", "Ana")
        assert await book.find("111", "Ana") is None
        assert [c.alias for c in await book.book("222")] == ["Juan Pérez"]
    finally:
        await store.close()


def _payment(payment_id: str, now: float, **changes: object) -> payment_store.Payment:
    payment = payment_store.Payment(
        payment_id=payment_id,
        wa_id="111",
        draft_id="d-" + payment_id,
        status="awaiting_approval",
        recipient_label="Bob",
        receiver_wallet="https://w.example/bob",
        receiver_wa_id="222",
        debit={"text": "50.00 MXN"},
        receive=None,
        react_message_id="wamid.r",
        deadline=now + 3600,
        next_poll_at=now - 1,
        attempts=0,
        notified=False,
        created_at=now,
    )
    for key, value in changes.items():
        setattr(payment, key, value)
    return payment


def test_payments(database_url: str | None, tmp_path: Path) -> None:
    run_async(lambda: _payments(database_url, tmp_path))


async def _payments(url: str | None, tmp: Path) -> None:
    store = await _open(url, tmp)
    payments = store.payments
    now = time.time()
    try:
        assert await payments.add(_payment("p1", now))
        assert not await payments.add(_payment("p1", now, wa_id="999"))  # already followed
        assert await payments.add(_payment("p2", now, next_poll_at=now - 5))
        assert await payments.add(_payment("p3", now, next_poll_at=now + 100))
        got = await payments.get("p1")
        assert got is not None
        assert (got.wa_id, got.debit, got.receive, got.notified) == (
            "111",
            {"text": "50.00 MXN"},
            None,
            False,
        )
        claimed = await payments.claim_due("r1", 60)
        assert [p.payment_id for p in claimed] == ["p2", "p1"]
        assert [p.payment_id for p in await payments.claim_due("r2", 60, ahead=200)] == ["p3"]
        # Only the lease owner renews, notes and reschedules.
        assert await payments.renew_leases("r1", ["p1", "p2", "p3", "nope"], 60) == {"p1", "p2"}
        assert await payments.renew_leases("r9", ["p1"], 60) == set()
        assert await payments.renew_leases("r1", [], 60) == set()
        await payments.note_status("p1", "r9", "funding")
        await payments.note_status("p1", "r1", "sending")
        await payments.reschedule("p1", "r9", "x", now)
        await payments.reschedule("p1", "r1", "sending", now + 30, receive={"text": "49 MXN"})
        after = await payments.get("p1")
        assert after is not None
        assert (after.status, after.attempts, after.next_poll_at) == ("sending", 1, now + 30)
        assert after.receive == {"text": "49 MXN"}
        # The final outcome is told once, whoever asks.
        told = await asyncio.gather(
            *(payments.finish("p2", "completed", debit={"text": "50 MXN"}) for _ in range(5))
        )
        assert told.count(True) == 1
        assert not await payments.finish("p2", "failed")
        done = await payments.get("p2")
        assert done is not None
        assert (done.status, done.notified, done.debit) == ("completed", True, {"text": "50 MXN"})
        assert await payments.renew_leases("r1", ["p2"], 60) == set()
        assert [p.payment_id for p in await payments.recent("111", 2)] == ["p3", "p2"]
        assert [p.payment_id for p in await payments.received("222")] == ["p2"]
        assert {p.payment_id for p in await payments.active("111")} == {"p1", "p3"}
        with pytest.raises(ValueError, match="not a payment column"):
            await payments.finish("p1", "completed", notified=0)
        await payments.release_leases("r1")
    finally:
        await store.close()
