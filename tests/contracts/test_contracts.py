"""The contracts in schemas/ hold together: examples validate, topics and schemas agree,
and no schema changed incompatibly within its major version (against git history)."""

from __future__ import annotations

import json
import re

import pytest

from journey_platform.compatibility import check_history
from journey_platform.contracts import Contracts
from journey_platform.settings import find_schemas_dir

CONTRACTS = Contracts.load(find_schemas_dir())
SCHEMAS = sorted(CONTRACTS.schemas.values(), key=lambda s: s.path.name)
# Values that would identify a person; no event field may be built to carry them.
IDENTIFYING_FIELD = re.compile(
    r"name|birth|dob|address|postcode|phone|email|note|comment|free_?text"
)


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s.path.name)
def test_every_example_validates_and_an_unknown_field_is_refused(schema) -> None:  # type: ignore[no-untyped-def]
    examples = schema.document.get("examples", [])
    assert examples, "each event schema carries at least one example"
    for example in examples:
        CONTRACTS.validate_data(schema.event_type, schema.major, example)
        with pytest.raises(ValueError, match="unexpected properties"):
            CONTRACTS.validate_data(schema.event_type, schema.major, {**example, "surname": "x"})


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s.path.name)
def test_no_event_has_a_field_for_identifying_data(schema) -> None:  # type: ignore[no-untyped-def]
    fields = list(schema.document.get("properties", {}))
    assert not [f for f in fields if IDENTIFYING_FIELD.search(f)]
    assert schema.document.get("additionalProperties") is False


def test_every_event_type_is_on_exactly_one_topic_and_every_topic_type_has_a_schema() -> None:
    declared = [t for topic in CONTRACTS.topics.values() for t in topic.event_types]
    assert len(declared) == len(set(declared))
    assert set(declared) == {s.event_type for s in SCHEMAS}


def test_co_partitioned_topics_share_the_journey_partition_count() -> None:
    co_partitioned = [t for t in CONTRACTS.topics.values() if t.co_partitioned]
    assert {"nrm.identification", "nrm.support", "nrm.criminal-justice", "journey.clock"} <= {
        t.name for t in co_partitioned
    }
    assert {t.partitions for t in co_partitioned} == {CONTRACTS.journey_partitions}


def test_envelope_example_validates() -> None:
    envelope = json.loads(
        (find_schemas_dir() / "envelope" / "cloudevents-kafka-binary.v1.schema.json").read_text()
    )
    for example in envelope["examples"]:
        CONTRACTS.validate_envelope(example)


def test_no_schema_changed_incompatibly_within_its_major_version() -> None:
    assert check_history(find_schemas_dir()) == []


def test_the_recorded_topics_are_the_three_the_partner_services_write() -> None:
    producers = {CONTRACTS.topics[t].producer for t in CONTRACTS.recorded_topics()}
    assert CONTRACTS.recorded_topics() == {
        "nrm.identification",
        "nrm.support",
        "nrm.criminal-justice",
    }
    assert producers == {"referral", "support", "prosecution"}
