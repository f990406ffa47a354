"""The pure half of `journey deadletter`: ids, what a dead letter shows, what goes back."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from journey_cli.deadletter.records import (
    DLQ_PREFIX,
    DeadLetter,
    DeadLetterId,
    Refused,
    Replay,
    original_headers,
)
from journey_platform.consumer import dead_letter_headers
from journey_platform.contracts import Contracts
from journey_platform.settings import find_schemas_dir

TRACEPARENT = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@dataclass
class _Record:
    topic: str = "nrm.support"
    partition: int = 1
    offset: int = 42
    key: bytes | None = b"journey-pseudonym"
    value: bytes | None = b'{"note": "MARKER-VALUE"}'
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def _dead_letter(original_headers: list[tuple[str, bytes]] | None = None) -> _Record:
    """A record as a consumer dead-letters it: unchanged, plus dead_letter_headers."""
    original = _Record(
        headers=[
            ("ce_type", b"uk.nrm.support.accepted"),
            ("ce_id", b"7d4f6a52-4a59-4c8e-9f64-0d3f5a1b2c3d"),
            ("traceparent", TRACEPARENT),
        ]
        if original_headers is None
        else original_headers
    )
    headers = dead_letter_headers(original, group_id="support-journeys", reason="no schema")
    return _Record("journey.deadletter", 2, 7, original.key, original.value, headers)


@pytest.fixture(scope="module")
def contracts() -> Contracts:
    return Contracts.load(find_schemas_dir())


@pytest.mark.parametrize("text", ["", "1", "1:", ":2", "-1:2", "1:-2", "a:b", "1:2:3", "1.0:2"])
def test_an_id_that_is_not_partition_colon_offset_is_refused(text: str) -> None:
    with pytest.raises(Refused, match="<partition>:<offset>"):
        DeadLetterId.parse(text)


def test_an_id_reads_back_as_it_prints() -> None:
    assert DeadLetterId.parse(" 2:17 ") == DeadLetterId(2, 17)
    assert str(DeadLetterId(2, 17)) == "2:17"


def test_a_dead_letter_is_described_by_its_headers_never_its_key_or_value() -> None:
    described = DeadLetter.of(_dead_letter())
    assert described.id == DeadLetterId(2, 7)
    assert (described.original_topic, described.original_partition) == ("nrm.support", 1)
    assert (described.original_offset, described.consumer_group) == (42, "support-journeys")
    assert (described.reason, described.event_type) == ("no schema", "uk.nrm.support.accepted")
    shown = described.line() + str(described.as_json())
    assert "2:7" in shown and "no schema" in shown and "7d4f6a52" in shown
    assert "MARKER-VALUE" not in shown and "journey-pseudonym" not in shown


def test_a_header_cannot_put_control_characters_on_the_terminal() -> None:
    record = _dead_letter([("ce_type", b"\x1b[2Jevil\ntype")])
    assert "\x1b" not in DeadLetter.of(record).line() and "\n" not in DeadLetter.of(record).line()


def test_every_header_dead_lettering_adds_is_one_replay_removes() -> None:
    added = dead_letter_headers(_Record(headers=[]), group_id="g", reason="r")
    assert added and all(name.startswith(DLQ_PREFIX) for name, _ in added)


def test_the_original_headers_come_back_in_order_with_one_traceparent() -> None:
    record = _dead_letter([("ce_id", b"1"), ("traceparent", TRACEPARENT), ("traceparent", b"x")])
    assert original_headers(record.headers) == [("ce_id", b"1"), ("traceparent", TRACEPARENT)]


def test_a_replay_is_the_original_record_to_its_original_topic_and_partition(
    contracts: Contracts,
) -> None:
    replay = Replay.of(_dead_letter(), contracts=contracts, dead_letter_topic="journey.deadletter")
    assert (replay.topic, replay.partition) == ("nrm.support", 1)
    assert (replay.key, replay.value) == (b"journey-pseudonym", b'{"note": "MARKER-VALUE"}')
    assert [name for name, _ in replay.headers] == ["ce_type", "ce_id", "traceparent"]


def test_a_record_without_an_original_topic_is_refused(contracts: Contracts) -> None:
    plain = _Record("journey.deadletter", 0, 3, headers=[("ce_id", b"1")])
    with pytest.raises(Refused, match="no dlq_original_topic"):
        Replay.of(plain, contracts=contracts, dead_letter_topic="journey.deadletter")


@pytest.mark.parametrize("topic", [b"not.a.catalogued.topic", b"journey.deadletter"])
def test_a_replay_goes_only_to_a_catalogued_topic_other_than_the_dead_letters(
    contracts: Contracts, topic: bytes
) -> None:
    record = _dead_letter()
    record.headers = [(n, topic if n == "dlq_original_topic" else v) for n, v in record.headers]
    with pytest.raises(Refused, match="catalogued topics"):
        Replay.of(record, contracts=contracts, dead_letter_topic="journey.deadletter")
