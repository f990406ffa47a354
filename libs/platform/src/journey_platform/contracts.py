"""The event contracts in `schemas/`: JSON Schemas, the envelope, and the topic catalogue.

`schemas/` is the source of truth; this module only reads it. Each event type and
major version has one file, `schemas/events/<type>.v<major>.schema.json`, whose
`$id` is `urn:victim-journey:schema:event:<type>:v<major>`. Shared vocabularies live
under `schemas/common/` and are reached by `$ref` to their `$id`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

EVENT_FILE = re.compile(r"^(?P<type>[a-z0-9.-]+)\.v(?P<major>\d+)\.schema\.json$")
ENVELOPE_SCHEMA_ID = "urn:victim-journey:schema:envelope:cloudevents-kafka-binary:v1"


class ContractViolation(ValueError):
    """An event, or a record claiming to be one, that breaks its contract.

    Messages name the field and the rule broken but never echo the offending value:
    a value in the wrong field may be exactly the personal data we must not log.
    """


def event_schema_id(event_type: str, major: int) -> str:
    return f"urn:victim-journey:schema:event:{event_type}:v{major}"


def describe(error: ValidationError) -> str:
    """A privacy-safe description of one validation error: where, and which rule."""
    where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    if error.validator == "required":
        return f"{where}: {error.message}"  # names the missing property only
    if (
        error.validator == "additionalProperties"
        and isinstance(error.instance, dict)
        and isinstance(error.schema, Mapping)
    ):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        return f"{where}: unexpected properties {extra}"
    rule = json.dumps(error.validator_value, default=str)
    if len(rule) > 120:
        rule = rule[:117] + "..."
    return f"{where}: must satisfy {error.validator} {rule}"


@dataclass(frozen=True)
class TopicSpec:
    """One row of the topic catalogue (`schemas/topics.yaml`)."""

    name: str
    partitions: int
    key: str
    cleanup_policy: str
    retention_ms: int
    producer: str
    consumers: tuple[str, ...]
    event_types: tuple[str, ...]
    description: str
    # Co-partitioned topics share `journey_partitions`, so partition n of each holds
    # the same journeys and a processor can join them without repartitioning.
    co_partitioned: bool = False


@dataclass(frozen=True)
class EventSchema:
    event_type: str
    major: int
    path: Path
    document: Mapping[str, Any]


class Contracts:
    """Loaded contracts: validate event bodies and envelopes, look up topics."""

    def __init__(
        self,
        schemas: Iterable[EventSchema],
        topics: Iterable[TopicSpec],
        registry: Registry[Any],
        journey_partitions: int,
    ) -> None:
        self.schemas = {(s.event_type, s.major): s for s in schemas}
        self.topics = {t.name: t for t in topics}
        self.journey_partitions = journey_partitions
        self._registry = registry
        self._validators: dict[str, Draft202012Validator] = {}
        self._fast_validators: dict[str, jsonschema_rs.Validator] = {}
        self._fast_registry = jsonschema_rs.Registry(
            [(uri, registry.contents(uri)) for uri in registry]
        )
        self._topic_of_type = {
            event_type: topic for topic in self.topics.values() for event_type in topic.event_types
        }

    @classmethod
    def load(cls, schemas_dir: Path) -> Contracts:
        documents = [
            (path, json.loads(path.read_text()))
            for path in sorted(schemas_dir.rglob("*.schema.json"))
        ]
        registry: Registry[Any] = Registry().with_resources(
            (doc["$id"], Resource.from_contents(doc)) for _, doc in documents
        )
        schemas = []
        for path, doc in documents:
            match = EVENT_FILE.match(path.name)
            if path.parent.name != "events" or not match:
                continue
            event_type, major = match["type"], int(match["major"])
            if doc.get("$id") != event_schema_id(event_type, major):
                raise ContractViolation(f"{path}: $id must be {event_schema_id(event_type, major)}")
            schemas.append(EventSchema(event_type, major, path, doc))
        catalogue = yaml.safe_load((schemas_dir / "topics.yaml").read_text())
        topics = [
            TopicSpec(
                name=name,
                partitions=int(spec["partitions"]),
                key=spec["key"],
                cleanup_policy=spec["cleanup_policy"],
                retention_ms=int(spec["retention_ms"]),
                producer=spec["producer"],
                consumers=tuple(spec.get("consumers", ())),
                event_types=tuple(spec.get("event_types", ())),
                description=spec.get("description", ""),
                co_partitioned=bool(spec.get("co_partitioned", False)),
            )
            for name, spec in catalogue["topics"].items()
        ]
        return cls(schemas, topics, registry, int(catalogue["journey_partitions"]))

    # -- look-ups ---------------------------------------------------------------------------

    def topic_for(self, event_type: str) -> TopicSpec:
        try:
            return self._topic_of_type[event_type]
        except KeyError:
            raise ContractViolation(f"event type {event_type!r} is on no topic") from None

    def recorded_topics(self) -> frozenset[str]:
        """The journey topics of what partners recorded (`nrm.*`), as against the topics
        of what the system derives from them (`journey.*`): the catalogue's naming rule."""
        return frozenset(
            name for name, spec in self.topics.items() if spec.co_partitioned and name[:4] == "nrm."
        )

    def consumed_by(self, consumer: str) -> tuple[str, ...]:
        """The topics the catalogue says `consumer` reads, in catalogue order."""
        return tuple(name for name, spec in self.topics.items() if consumer in spec.consumers)

    def knows(self, event_type: str) -> bool:
        return any(known == event_type for known, _ in self.schemas)

    def latest_major(self, event_type: str) -> int:
        majors = [major for (t, major) in self.schemas if t == event_type]
        if not majors:
            raise ContractViolation(f"unknown event type {event_type!r}")
        return max(majors)

    def schema(self, event_type: str, major: int) -> EventSchema:
        try:
            return self.schemas[(event_type, major)]
        except KeyError:
            raise ContractViolation(f"no schema for {event_type} v{major}") from None

    def resolve(self, reference: str) -> Mapping[str, Any]:
        """The schema a `$ref` such as `urn:...:vocabulary:v1#/$defs/gender` points to."""
        resolved = self._registry.resolver().lookup(reference).contents
        if not isinstance(resolved, Mapping):
            raise ContractViolation(f"{reference} does not name a schema object")
        return resolved

    # -- validation -------------------------------------------------------------------------

    def _validator(self, schema_id: str) -> Draft202012Validator:
        if schema_id not in self._validators:
            document = self._registry.contents(schema_id)
            self._validators[schema_id] = Draft202012Validator(
                document,
                registry=self._registry,
                format_checker=Draft202012Validator.FORMAT_CHECKER,
            )
        return self._validators[schema_id]

    def _fast_validator(self, schema_id: str) -> jsonschema_rs.Validator:
        if schema_id not in self._fast_validators:
            self._fast_validators[schema_id] = jsonschema_rs.validator_for(
                self._registry.contents(schema_id),
                registry=self._fast_registry,
                validate_formats=True,
            )
        return self._fast_validators[schema_id]

    def _check(self, schema_id: str, instance: object, what: str) -> None:
        # The compiled validator answers the common case, "valid", in microseconds rather
        # than the best part of a millisecond. Anything it rejects goes to the Python
        # validator, which has the last word (it is at least as lenient) and words the errors.
        if self._fast_validator(schema_id).is_valid(instance):
            return
        errors = sorted(self._validator(schema_id).iter_errors(instance), key=lambda e: e.path)
        if errors:
            raise ContractViolation(f"{what}: " + "; ".join(describe(e) for e in errors[:5]))

    def validate_data(self, event_type: str, major: int, data: object) -> None:
        """Strict check, for producers: every field known, every rule met."""
        self.schema(event_type, major)
        self._check(event_schema_id(event_type, major), data, f"{event_type} v{major}")

    def read_data(self, event_type: str, major: int, data: object) -> dict[str, Any]:
        """Tolerant check, for consumers: fields this version does not know are dropped,
        so a producer on a later minor revision of the same major never breaks a reader."""
        schema = self.schema(event_type, major)
        if not isinstance(data, dict):
            raise ContractViolation(f"{event_type} v{major}: $: must be a JSON object")
        known = schema.document.get("properties", {})
        kept = (
            data if all(k in known for k in data) else {k: v for k, v in data.items() if k in known}
        )
        self._check(schema.document["$id"], kept, f"{event_type} v{major}")
        return kept

    def validate_envelope(self, attributes: Mapping[str, str]) -> None:
        self._check(ENVELOPE_SCHEMA_ID, dict(attributes), "envelope")
