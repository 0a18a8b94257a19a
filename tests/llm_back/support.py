"""Helpers for the llm_back tests: the labelled set, test media, calling the service."""

from __future__ import annotations

import base64
import struct
import zlib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from tests.support.processes import TEST_TOKEN

HERE = Path(__file__).resolve().parent
AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}


@dataclass(frozen=True)
class Labelled:
    text: str
    intent: str
    monto: str | None
    currency: str | None
    destinatario: str | None


def load_labelled(name: str = "labelled_messages.txt") -> list[Labelled]:
    out = []
    for line in (HERE / name).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, intent, monto, currency, dest = (p.strip() for p in line.split(" | "))
        out.append(
            Labelled(
                text,
                intent,
                None if monto == "-" else monto,
                None if currency == "-" else currency,
                None if dest == "-" else dest,
            )
        )
    return out


def same_amount(got: str | None, want: str | None) -> bool:
    if got is None or want is None:
        return got is want
    return Decimal(got) == Decimal(want)


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
