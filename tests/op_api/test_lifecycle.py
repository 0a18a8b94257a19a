"""The payment lifecycle: one table of legal moves, one function that makes them, one writer."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

from op_api.lifecycle import (
    FINAL_STATUSES,
    FIRST,
    TRANSITIONS,
    IllegalTransition,
    Status,
    mermaid,
    transition,
)
from op_api.metrics import PAYMENT_TRANSITIONS
from op_api.sealing import TokenSealer
from op_api.store import PaymentStore, utcnow
from tests.op_api.harness import run_async
from tests.op_api.lifecycle_paths import move_to

PACKAGE = Path(__file__).resolve().parents[2] / "op_api" / "op_api"

SEALER = TokenSealer.from_secret("tests")


async def _store(tmp_path: Path) -> PaymentStore:
    store = await PaymentStore.open(None, tmp_path / "db.sqlite3", sealer=SEALER)
    await store.create_schema()
    return store


async def _new(store: PaymentStore, payment_id: str) -> None:
    await store.insert(id=payment_id, fingerprint="f", expires_at=utcnow())


def test_only_the_tables_transitions_are_accepted(tmp_path: Path) -> None:
    """Every (from, to) pair, on a real database: legal moves happen, the rest raise."""

    async def scenario() -> None:
        store = await _store(tmp_path)
        for source, target in itertools.product(Status, Status):
            payment_id = f"{source.value}-{target.value}"
            await _new(store, payment_id)
            await move_to(store, payment_id, source)
            if (source, target) in TRANSITIONS:
                assert await transition(store, payment_id, source, target, "walk")
                expected = target
            else:
                with pytest.raises(IllegalTransition):
                    await transition(store, payment_id, source, target, "walk")
                expected = source
            record = await store.get(payment_id)
            assert record is not None
            assert record.status == expected, (source, target)
        await store.close()

    run_async(scenario())


def test_a_transition_is_a_compare_and_set_that_records_when_and_why(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = await _store(tmp_path)
        await _new(store, "p")
        await move_to(store, "p", Status.APPROVED)
        before = PAYMENT_TRANSITIONS.labels("sending")._value.get()
        # Someone else moved it first: a move from the status it no longer has changes nothing.
        assert not await transition(store, "p", Status.AWAITING_APPROVAL, Status.REJECTED, "late")
        assert await transition(
            store, "p", Status.APPROVED, Status.SENDING, "created", sent_amount=None
        )
        assert not await transition(store, "p", Status.APPROVED, Status.SENDING, "twice")
        record = await store.get("p")
        assert record is not None
        assert record.status == Status.SENDING
        assert record.status_reason == "created"
        assert record.status_changed_at is not None
        assert PAYMENT_TRANSITIONS.labels("sending")._value.get() == before + 1
        await store.close()

    run_async(scenario())


def test_the_store_refuses_to_write_a_status(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = await _store(tmp_path)
        with pytest.raises(ValueError, match="initiating"):
            await store.insert(id="p", fingerprint="f", expires_at=utcnow(), status="completed")
        await _new(store, "p")
        with pytest.raises(ValueError, match="lifecycle"):
            await store.update("p", status="completed")
        record = await store.get("p")
        assert record is not None
        assert record.status == FIRST
        await store.close()

    run_async(scenario())


def _status_writes(path: Path) -> list[int]:
    """Lines that pass a `status` keyword or a "status" dict key (a write in this package)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            callee = node.func
            name = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
            if name in ("PaymentView", "PaymentRequestView", "BatchView", "LinkView"):  # views
                continue
            found += [node.lineno for kw in node.keywords if kw.arg == "status"]
        elif isinstance(node, ast.Dict):
            found += [
                node.lineno
                for key in node.keys
                if isinstance(key, ast.Constant) and key.value == "status"
            ]
    return found


def test_only_lifecycle_writes_a_payments_status() -> None:
    writers = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if "client" not in path.parts and (lines := _status_writes(path))
    }
    # A link's status (another table) has one writer too: `LinkStore.move`.
    assert writers == {
        "lifecycle.py": writers.get("lifecycle.py"),
        "link_store.py": writers.get("link_store.py"),
    }
    assert writers["lifecycle.py"]
    assert len(writers["link_store.py"]) == 1


def test_the_diagram_shows_every_transition_and_every_end() -> None:
    diagram = mermaid()
    for source, target in TRANSITIONS:
        assert f"{source.value} --> {target.value}:" in diagram
    assert f"[*] --> {FIRST.value}" in diagram
    assert {
        Status.COMPLETED,
        Status.REJECTED,
        Status.EXPIRED,
        Status.FAILED,
    } == FINAL_STATUSES
    for status in FINAL_STATUSES:
        assert f"{status.value} --> [*]" in diagram
