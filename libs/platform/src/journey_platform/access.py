"""Who may do what on Kafka: one principal per service, its rights read from the catalogue.

`schemas/topics.yaml` names each topic's producer and consumers; `grants` turns that into
allow-rules (Kafka ACLs) and nothing else is allowed, so a service can write only its own
topics and read only what the catalogue says it reads. A broker with an authorizer and
these rules refuses the support service's credentials on `nrm.identification` with
TOPIC_AUTHORIZATION_FAILED.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from journey_platform.contracts import Contracts

Operation = Literal["READ", "WRITE", "DESCRIBE", "CREATE", "DESCRIBE_CONFIGS", "IDEMPOTENT_WRITE"]
Resource = Literal["TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID"]

CLUSTER = "kafka-cluster"  # the one name Kafka gives the cluster resource
# The catalogue's word for the dead-letter topic's producer: whoever consumes may write it.
ANY_CONSUMER = "any consumer"
# Services that keep state in topics of their own making (changelogs, named "<service>-...")
# and write in transactions whose ids start "<service>-" (the processor: its kafka engine's
# changelog and transactional producer, and faust's changelog and assignor topics).
STATEFUL = frozenset({"journey-processor"})


@dataclass(frozen=True, order=True)
class Grant:
    """Allow `principal` (a service name; Kafka sees User:<name>) `operation` on a resource,
    named exactly or, when `prefixed`, every resource whose name starts with `name`."""

    principal: str
    resource: Resource
    name: str
    operation: Operation
    prefixed: bool = False


def grants(contracts: Contracts) -> list[Grant]:
    """Every allow-rule the catalogue implies, sorted; nothing else is allowed.

    A producer may WRITE (and DESCRIBE) its topics and write idempotently. A consumer may
    READ (and DESCRIBE) the topics it consumes, READ its consumer groups (named by the
    service, or starting "<service>-"), and WRITE dead letters.
    """
    rules: set[Grant] = set()
    consumers = {c for spec in contracts.topics.values() for c in spec.consumers}
    for spec in contracts.topics.values():
        for producer in consumers if spec.producer == ANY_CONSUMER else {spec.producer}:
            rules |= _writes(producer, spec.name)
        for consumer in spec.consumers:
            rules |= {
                Grant(consumer, "TOPIC", spec.name, "READ"),
                Grant(consumer, "TOPIC", spec.name, "DESCRIBE"),
                Grant(consumer, "GROUP", consumer, "READ"),
                Grant(consumer, "GROUP", f"{consumer}-", "READ", prefixed=True),
            }
    for service in STATEFUL & principals_of(contracts):
        own = f"{service}-"
        rules |= {
            Grant(service, "TOPIC", own, operation, prefixed=True)
            for operation in ("CREATE", "READ", "WRITE", "DESCRIBE", "DESCRIBE_CONFIGS")
        }
        rules |= {
            Grant(service, "TRANSACTIONAL_ID", own, operation, prefixed=True)
            for operation in ("WRITE", "DESCRIBE")
        }
    return sorted(rules)


def principals_of(contracts: Contracts) -> set[str]:
    """Every service the catalogue names as a producer or consumer: one principal each."""
    named = {spec.producer for spec in contracts.topics.values()}
    named |= {c for spec in contracts.topics.values() for c in spec.consumers}
    return named - {ANY_CONSUMER}


def _writes(producer: str, topic: str) -> set[Grant]:
    return {
        Grant(producer, "TOPIC", topic, "WRITE"),
        Grant(producer, "TOPIC", topic, "DESCRIBE"),
        Grant(producer, "CLUSTER", CLUSTER, "IDEMPOTENT_WRITE"),
    }
