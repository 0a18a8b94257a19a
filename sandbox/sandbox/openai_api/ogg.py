"""Ogg/Opus without an encoder: read and rewrite the comment header of a real opus file.

The fake speech endpoint answers with a real, playable ogg/opus voice note (a short chime,
`assets/speech.opus`, encoded once with opusenc) whose comment header carries the spoken text,
so transcribing the fake's own speech gives the text back. Tests build voice notes the same way:
`voice_note("mándale 20 a Bob")` is a valid ogg/opus file whose transcript is that text.
"""

from __future__ import annotations

import struct
from importlib import resources

TRANSCRIPT_TAG = "TRANSCRIPT"
LANGUAGE_TAG = "LANGUAGE"
MAX_TEXT = 4096


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_TABLE = _crc_table()


def ogg_crc(data: bytes) -> int:
    """The Ogg page checksum (CRC-32, polynomial 0x04C11DB7, no reflection, initial 0)."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _TABLE[((crc >> 24) & 0xFF) ^ byte]
    return crc


def pages(data: bytes) -> list[bytes]:
    """Split an Ogg stream into raw pages; ValueError if it is not one."""
    out = []
    pos = 0
    while pos < len(data):
        if data[pos : pos + 4] != b"OggS" or len(data) < pos + 27:
            raise ValueError("not an Ogg stream")
        nsegs = data[pos + 26]
        table = data[pos + 27 : pos + 27 + nsegs]
        end = pos + 27 + nsegs + sum(table)
        if end > len(data):
            raise ValueError("truncated Ogg page")
        out.append(data[pos:end])
        pos = end
    return out


def page_ok(page: bytes) -> bool:
    zeroed = page[:22] + b"\0\0\0\0" + page[26:]
    stored: int = struct.unpack_from("<I", page, 22)[0]
    return stored == ogg_crc(zeroed)


def _packets(page: bytes) -> list[bytes]:
    nsegs = page[26]
    table = page[27 : 27 + nsegs]
    body = page[27 + nsegs :]
    packets, current, pos = [], b"", 0
    for size in table:
        current += body[pos : pos + size]
        pos += size
        if size < 255:
            packets.append(current)
            current = b""
    return packets


def comments(data: bytes) -> dict[str, str]:
    """The comment tags (upper-cased keys) of an ogg/opus file; {} when there are none."""
    try:
        all_pages = pages(data)
    except ValueError:
        return {}
    for page in all_pages[1:3]:
        for packet in _packets(page):
            if packet.startswith(b"OpusTags"):
                return _parse_tags(packet)
    return {}


def _parse_tags(packet: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        pos = 8
        (vendor_len,) = struct.unpack_from("<I", packet, pos)
        pos += 4 + vendor_len
        (count,) = struct.unpack_from("<I", packet, pos)
        pos += 4
        for _ in range(count):
            (length,) = struct.unpack_from("<I", packet, pos)
            pos += 4
            key, _, value = packet[pos : pos + length].decode("utf-8", "replace").partition("=")
            out[key.upper()] = value
            pos += length
    except struct.error:
        return out
    return out


def _tags_packet(tags: dict[str, str]) -> bytes:
    vendor = b"paguito-sandbox"
    items = [f"{k}={v}".encode() for k, v in tags.items()]
    body = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(items))
    for item in items:
        body += struct.pack("<I", len(item)) + item
    return body


def _page(header: bytes, packet: bytes) -> bytes:
    """A one-packet page with `header`'s flags, granule, serial and sequence number."""
    sizes = [255] * (len(packet) // 255) + [len(packet) % 255]
    if len(sizes) > 255:
        raise ValueError("comment header too large for one page")
    raw = header[:22] + b"\0\0\0\0" + bytes([len(sizes)]) + bytes(sizes) + packet
    return raw[:22] + struct.pack("<I", ogg_crc(raw)) + raw[26:]


def voice_note(text: str, language: str | None = None) -> bytes:
    """A real ogg/opus voice note (the chime) tagged with `text` as its transcript."""
    base = (resources.files("sandbox.openai_api") / "assets" / "speech.opus").read_bytes()
    all_pages = pages(base)
    tags = {TRANSCRIPT_TAG: text[:MAX_TEXT]}
    if language:
        tags[LANGUAGE_TAG] = language
    # opusenc writes the tags alone on page 1, so replacing that page keeps the sequence intact.
    all_pages[1] = _page(all_pages[1], _tags_packet(tags))
    return b"".join(all_pages)
