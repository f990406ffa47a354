"""The journey state's encoding: event ids as 16 bytes when they are UUIDs, and stable
published ids."""

from __future__ import annotations

import uuid

from journey_processor.core import codec


def test_uuid5_is_the_standard_librarys() -> None:
    namespace = uuid.UUID("6f1c1a52-8d0e-4a51-9d57-5bd2a43c7a10")
    for name in ["jny_x|rule|start|0", "", "é|outcome|3"]:
        assert codec.uuid5(namespace, name) == str(uuid.uuid5(namespace, name))


def test_only_canonical_uuid_strings_are_stored_as_bytes() -> None:
    canonical = str(uuid.uuid4())
    assert codec.uuid_bytes(canonical) == uuid.UUID(canonical).bytes
    assert codec.uuid_bytes(canonical.upper()) is None  # would not read back the same
    assert codec.uuid_bytes(canonical.replace("-", "")) is None
    assert codec.uuid_bytes("e1") is None
    assert codec.uuid_bytes("x" * 36) is None


def test_ids_and_document_read_back_as_written() -> None:
    ids = codec.Ids([str(uuid.uuid4()), "odd-one", str(uuid.uuid4())])
    document, read = codec.unpack(codec.pack([{"a": [1, 2.5]}], ids))
    assert document == [{"a": [1, 2.5]}] and list(read) == list(ids)
    read.add("odd-two")  # and ids seen after a reload go on where the stored ones ended
    ids.add("odd-two")
    assert codec.pack([], read) == codec.pack([], ids)


def test_times_read_back_exactly() -> None:
    out, back = codec.Writer(codec.Ids(), 1_700_000_000), codec.Reader([], 1_700_000_000)
    for seconds in [1_700_000_000.0, 1_600_000_123.0, 1_700_000_000.25, 1_734_000_001.123456]:
        assert back.time(out.time(seconds)) == seconds
        recorded = seconds + 3600.5
        assert back.recorded(seconds, out.recorded(seconds, recorded)) == recorded
