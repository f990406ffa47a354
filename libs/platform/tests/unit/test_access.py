from __future__ import annotations

from journey_platform.access import Grant, grants, principals_of
from journey_platform.contracts import Contracts


def _rights(contracts: Contracts, principal: str) -> set[tuple[str, str, str, bool]]:
    return {
        (g.resource, g.name, g.operation, g.prefixed)
        for g in grants(contracts)
        if g.principal == principal
    }


def test_each_catalogued_service_is_a_principal(contracts: Contracts) -> None:
    assert principals_of(contracts) == {
        "referral",
        "support",
        "prosecution",
        "flags",
        "journey-processor",
        "analytics",
        "clock",
        "operations",
    }


def test_a_producer_writes_only_its_own_topics_and_dead_letters(contracts: Contracts) -> None:
    written = {
        name
        for resource, name, operation, _ in _rights(contracts, "support")
        if resource == "TOPIC" and operation == "WRITE"
    }
    assert written == {"nrm.support", "journey.deadletter"}
    assert ("CLUSTER", "kafka-cluster", "IDEMPOTENT_WRITE", False) in _rights(contracts, "support")


def test_a_consumer_reads_only_what_the_catalogue_says(contracts: Contracts) -> None:
    read = {
        name
        for resource, name, operation, _ in _rights(contracts, "support")
        if resource == "TOPIC" and operation == "READ"
    }
    assert read == {"nrm.identification"}
    assert ("GROUP", "support-", "READ", True) in _rights(contracts, "support")


def test_a_service_that_consumes_nothing_has_no_group_and_no_dead_letters(
    contracts: Contracts,
) -> None:
    assert _rights(contracts, "clock") == {
        ("TOPIC", "journey.clock", "WRITE", False),
        ("TOPIC", "journey.clock", "DESCRIBE", False),
        ("CLUSTER", "kafka-cluster", "IDEMPOTENT_WRITE", False),
    }


def test_the_referral_service_reads_support_requests_and_nothing_else(
    contracts: Contracts,
) -> None:
    reads = {name for kind, name, op, _ in _rights(contracts, "referral") if op == "READ"}
    assert reads == {"nrm.support", "referral", "referral-"}


def test_only_the_processor_makes_topics_and_writes_in_transactions(
    contracts: Contracts,
) -> None:
    creators = {g.principal for g in grants(contracts) if g.operation == "CREATE"}
    transactional = {g.principal for g in grants(contracts) if g.resource == "TRANSACTIONAL_ID"}
    assert creators == transactional == {"journey-processor"}
    assert Grant(
        "journey-processor", "TOPIC", "journey-processor-", "CREATE", prefixed=True
    ) in grants(contracts)


def test_no_rule_names_the_any_consumer_placeholder(contracts: Contracts) -> None:
    assert all(g.principal != "any consumer" for g in grants(contracts))
