"""How a journey's state is written to its key-value store, compactly.

Most of a journey's state is event ids: every id it has seen (to drop redelivered
events), and the ids rules and outcomes refer to. Ids are UUID strings in practice, so
they are stored once each, as 16 raw bytes in a table after the document, and the
document (orjson) refers to them by position. An id that is not a canonical UUID string
is stored as it is, so nothing is lost.

Layout: a format byte, the document's length (4 bytes, little-endian), the document,
then the table of 16-byte ids.
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

FORMAT = 2  # the orjson-only layout of the first version had no format byte
_HEADER = struct.Struct("<BI")


def uuid_bytes(event_id: str) -> bytes | None:
    """The 16 bytes of a canonical (lowercase, hyphenated) UUID string, else None."""
    if len(event_id) != 36:
        return None
    try:
        raw = bytes.fromhex(event_id.replace("-", ""))
    except ValueError:
        return None
    return raw if len(raw) == 16 and _uuid_text(raw) == event_id else None


def _uuid_text(raw: bytes) -> str:
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid5(namespace: uuid.UUID, name: str) -> str:
    """str(uuid.uuid5(namespace, name)), without building UUID objects on the hot path."""
    # RFC 4122 name-based ids are SHA-1 by definition: an identifier, not a protection.
    sha1 = hashlib.sha1(namespace.bytes + name.encode(), usedforsecurity=False)
    digest = bytearray(sha1.digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    return _uuid_text(bytes(digest))


# Resolutions are stored as one letter each; anything else is stored as it is.
_WORDS = {
    "met_in_time_recorded_late": "m",
    "arrived_late": "a",
    "cancelled": "c",
    "cleared": "x",
    "retracted": "r",
}
_MEANINGS = {letter: word for word, letter in _WORDS.items()}


class Ids:
    """The event ids a journey has seen, in the order it saw them: each one's position,
    and the table `pack` writes after the document. Kept up to date as ids come, so that
    encoding a state (each time it changes) does not build them again."""

    __slots__ = ("odd", "positions", "table")

    def __init__(self, event_ids: Iterable[str] = ()) -> None:
        self.positions: dict[str, int] = {}
        self.table = bytearray()  # 16 bytes a UUID, in position order
        self.odd: list[list[Any]] = []  # [position, id] of the ids that are not UUIDs
        for event_id in event_ids:
            self.add(event_id)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self.positions

    def __len__(self) -> int:
        return len(self.positions)

    def __iter__(self) -> Iterator[str]:
        return iter(self.positions)

    def add(self, event_id: str) -> None:
        raw = uuid_bytes(event_id)
        if raw is None:
            self.odd.append([len(self.positions), event_id])
        else:
            self.table += raw
        self.positions[event_id] = len(self.positions)


class Writer:
    """Refers to event ids by position, and writes times as whole seconds from a base."""

    def __init__(self, ids: Ids, base: int) -> None:
        self.positions = ids.positions
        self.base = base

    def id(self, event_id: str) -> int:
        return self.positions[event_id]

    def time(self, seconds: float) -> float:
        # Whole seconds become small integers; anything finer is kept as it is (a float).
        if not float(seconds).is_integer():
            return float(seconds)
        return int(seconds) - self.base

    def maybe(self, seconds: float | None) -> float | None:
        return None if seconds is None else self.time(seconds)

    def recorded(self, time: float, recorded: float) -> float:
        """`recorded` as an integer delta from `time` when both are whole seconds."""
        if float(time).is_integer() and float(recorded).is_integer():
            return int(recorded) - int(time)
        return float(recorded)

    def word(self, word: str | None) -> str | None:
        return None if word is None else _WORDS.get(word, word)


class Reader:
    """The inverse of Writer."""

    def __init__(self, ids: list[str], base: int) -> None:
        self.ids = ids
        self.base = base

    def id(self, position: int) -> str:
        return self.ids[position]

    def time(self, stored: float) -> float:
        return stored if isinstance(stored, float) else float(self.base + stored)

    def maybe(self, stored: float | None) -> float | None:
        return None if stored is None else self.time(stored)

    def recorded(self, time: float, stored: float) -> float:
        return time + stored if isinstance(stored, int) else stored

    def word(self, letter: str | None) -> str | None:
        return None if letter is None else _MEANINGS.get(letter, letter)


def pack(document: list[Any], ids: Ids) -> bytes:
    """The document and its id table; the document refers to ids by position in `ids`."""
    body = orjson.dumps([len(ids), ids.odd, *document])
    return _HEADER.pack(FORMAT, len(body)) + body + ids.table


def unpack(raw: bytes) -> tuple[list[Any], Ids]:
    """The document and the ids, in the order `pack` was given them."""
    version, length = _HEADER.unpack_from(raw)
    if version != FORMAT:
        raise ValueError(f"journey state format {version} is not {FORMAT}")
    start = _HEADER.size
    count, odd, *document = orjson.loads(raw[start : start + length])
    ids = Ids()
    ids.table = bytearray(raw[start + length :])
    ids.odd = odd
    oddities = dict(odd)
    text = ids.table.hex()
    offset = 0
    for position in range(count):
        if position in oddities:
            ids.positions[oddities[position]] = position
            continue
        h = text[offset : offset + 32]
        ids.positions[f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"] = position
        offset += 32  # hex digits of one UUID
    return document, ids
