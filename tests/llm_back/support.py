"""Helpers for the llm_back tests: the labelled set, test media, calling the service."""

from __future__ import annotations

import base64
import struct
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from llm_back.amounts import settle
from llm_back.extraction import Understood
from llm_back.readings import offline_reading
from tests.support.processes import TEST_TOKEN

HERE = Path(__file__).resolve().parent
AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}


FIELDS = ("intent", "monto", "currency", "destinatario", "extras")
# The user's asset the labelled sets are read with.
ASSET_CODE, ASSET_SCALE = "USD", 2


@dataclass(frozen=True)
class Labelled:
    text: str
    intent: str
    monto: str | None
    currency: str | None
    destinatario: str | None
    extras: dict[str, str] = field(default_factory=dict)  # parts, split, every, issue, target


@dataclass(frozen=True)
class Reading:
    """What llm_back answers for one message, in the labelled sets' terms."""

    intent: str
    monto: str | None
    currency: str | None
    destinatario: str | None
    extras: dict[str, str]


def load_labelled(name: str = "labelled_messages.txt") -> list[Labelled]:
    out = []
    for line in (HERE / name).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, intent, monto, currency, dest, *more = (p.strip() for p in line.split(" | "))
        extras = dict(kv.split("=", 1) for kv in more[0].split(";")) if more else {}
        out.append(
            Labelled(
                text,
                intent,
                None if monto == "-" else monto,
                None if currency == "-" else currency,
                None if dest == "-" else dest,
                extras,
            )
        )
    return out


def extras_of(u: Understood) -> dict[str, str]:
    out: dict[str, str] = {}
    if u.parts:
        out["parts"] = ",".join(f"{p.destinatario}:{p.monto or '-'}" for p in u.parts)
    if u.split_total is not None:
        out["split"] = f"{u.split_total}/{u.split_between}"
    if u.recurrence:
        out["every"] = u.recurrence
    if u.amount_issue:
        out["issue"] = u.amount_issue
    if u.target_language:
        out["target"] = u.target_language
    return out


def as_reading(u: Understood) -> Reading:
    return Reading(u.intent, u.monto, u.currency, u.destinatario, extras_of(u))


def read_offline(text: str) -> Reading:
    """The offline path as the service runs it (minus follow-ups): parse, then settle amounts."""
    u = offline_reading(text, None, ASSET_CODE)
    return as_reading(settle(u, ASSET_CODE, ASSET_SCALE))


def same_amount(got: str | None, want: str | None) -> bool:
    if got is None or want is None:
        return got is want
    try:
        return Decimal(got) == Decimal(want)
    except ArithmeticError:
        return False


def _same_extras(got: dict[str, str], want: dict[str, str]) -> bool:
    if set(got) != set(want):
        return False
    for key, value in want.items():
        if key == "parts":
            mine = [p.rsplit(":", 1) for p in got[key].split(",")]
            theirs = [p.rsplit(":", 1) for p in value.split(",")]
            if len(mine) != len(theirs) or any(
                a[0] != b[0] or not same_amount(None if a[1] == "-" else a[1],
                                                None if b[1] == "-" else b[1])
                for a, b in zip(mine, theirs, strict=True)
            ):  # fmt: skip
                return False
        elif key == "split":
            (gt, gn), (wt, wn) = got[key].split("/"), value.split("/")
            if not same_amount(gt, wt) or gn != wn:
                return False
        elif got[key] != value:
            return False
    return True


def field_ok(got: Reading, item: Labelled, name: str) -> bool:
    if name == "monto":
        return same_amount(got.monto, item.monto)
    if name == "extras":
        return _same_extras(got.extras, item.extras)
    return bool(getattr(got, name) == getattr(item, name))


def png(text_chunks: dict[str, str] | None = None) -> bytes:
    """A valid 1x1 PNG carrying tEXt chunks (the fake OpenAI reads receipts from them)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    texts = b"".join(
        chunk(b"tEXt", k.encode("latin-1") + b"\0" + v.encode("latin-1"))
        for k, v in (text_chunks or {}).items()
    )
    idat = zlib.compress(b"\0\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + texts
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def understand(base_url: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
    headers = kw.pop("headers", AUTH)
    return httpx.post(f"{base_url}/webhook/whatsapp", json=body, headers=headers, timeout=20, **kw)
