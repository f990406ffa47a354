"""Authorisation matrix of the flags service: every agency type by every flag stage, the
expected table written by hand; one by one 404 (never 403) where it may not see; pages,
filters and cursors."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import yaml
from aiokafka import AIOKafkaProducer

from journey_platform.contracts import Contracts
from journey_platform.envelope import Event
from tests.integration.analytics_events import publish
from tests.integration.events import example_event, new_journey_id
from tests.integration.flags_client import eventually, flags_of
from tests.integration.services import BY_TYPE, RunningService, Tokens

pytestmark = pytest.mark.integration

# Who sees which flag, by agency type and the stage the rule watches: written by hand
# from the service README's reasoning, not read from relevance.py.
SUPPORT_RULES = {
    "no-first-contact",
    "no-support-contact",
    "missing-episode",
    "support-ended-conclusive-grounds-pending",
    "move-on-cliff-edge",
    "no-legal-representation",
}
DECISIONS = {"reasonable-grounds-overdue", "conclusive-grounds-pending"}
CRIMINAL_JUSTICE = {
    "police-referral-no-crime",
    "investigation-no-victim-contact",
    "victim-withdrew",
}
EXPECTED: dict[str, dict[str, set[str]]] = {
    "support_provider": {
        "identification": {"negative-decision-not-reconsidered"},
        "support": SUPPORT_RULES,
        "criminal_justice": set(),
        "prevention": {"detained-while-decision-stands-or-pending"},
    },
    "local_authority": {
        "identification": {"adult-declined-referral", "negative-decision-not-reconsidered"},
        "support": SUPPORT_RULES,
        "criminal_justice": set(),
        "prevention": {"re-referral"},
    },
    "police_force": {
        "identification": {"adult-declined-referral", "negative-decision-not-reconsidered"},
        "support": {"missing-episode"},
        "criminal_justice": CRIMINAL_JUSTICE,
        "prevention": {"re-referral"},
    },
    "ngo_first_responder": {
        "identification": DECISIONS | {"negative-decision-not-reconsidered"},
        "support": set(),
        "criminal_justice": set(),
        "prevention": {"re-referral"},
    },
    "home_office_first_responder": {
        "identification": DECISIONS
        | {"negative-decision-not-reconsidered", "adult-declined-referral"},
        "support": set(),
        "criminal_justice": set(),
        "prevention": {"re-referral"},
    },
    "competent_authority_sca": {
        "identification": DECISIONS,
        "support": set(),
        "criminal_justice": set(),
        "prevention": {"detained-while-decision-stands-or-pending"},
    },
    "competent_authority_ieca": {
        "identification": DECISIONS,
        "support": set(),
        "criminal_justice": set(),
        "prevention": {"detained-while-decision-stands-or-pending"},
    },
    "cps": {
        "identification": set(),
        "support": set(),
        "criminal_justice": {"victim-withdrew"},
        "prevention": set(),
    },
}


def catalogue() -> list[dict[str, Any]]:
    from flags.config import FlagsSettings

    rules: list[dict[str, Any]] = yaml.safe_load(FlagsSettings().rules_catalogue_path.read_text())[
        "rules"
    ]
    return rules


def raised(journey: str, rule: dict[str, Any], due: datetime) -> Event:
    return Event(
        type="uk.nrm.dropoff.raised",
        subject=journey,
        time=due,
        data={
            "flag_id": str(uuid.uuid4()),
            "rule_id": rule["id"],
            "stage": rule["stage"],
            "severity": rule["severity"],
            "started_by": str(uuid.uuid4()),
            "due_at": due.isoformat(),
            "sequence": 0,
        },
        source="integration-tests",
        recorded_by="journey-processor",
    )


async def test_authorisation_matrix_every_agency_type_by_flag_stage(
    flags_service: RunningService,
    tokens: Tokens,
    producer: AIOKafkaProducer,
    contracts: Contracts,
) -> None:
    journey = new_journey_id()
    # Every agency takes part (it recorded something on the journey), and the processor
    # raised one flag of every rule, each due a day after the last.
    taking_part = [
        replace(
            example_event(contracts, "uk.nrm.victim-contact.made", journey_id=journey),
            recorded_by=agency,
        )
        for agency in BY_TYPE.values()
    ]
    rules = catalogue()
    start = datetime.now(UTC) - timedelta(days=len(rules) + 1)
    flags = [raised(journey, rule, start + timedelta(days=n)) for n, rule in enumerate(rules)]
    await publish(producer, contracts, [*taking_part, *flags])
    assert {f.data["stage"] for f in flags} == {
        "identification",
        "support",
        "criminal_justice",
        "prevention",
    }
    stage_of = {f.data["rule_id"]: f.data["stage"] for f in flags}

    async with httpx.AsyncClient(timeout=30) as client:
        get = flags_of(client, flags_service, tokens)

        async def seen() -> dict[str, dict[str, set[str]]]:
            table: dict[str, dict[str, set[str]]] = {}
            for agency_type in EXPECTED:
                response = await get(BY_TYPE[agency_type], journey_id=journey, limit=200)
                assert response.status_code == 200, response.text
                items = response.json()["items"]
                due = [item["due_at"] for item in items]
                assert due == sorted(due), "most overdue first"
                table[agency_type] = {
                    stage: {i["rule_id"] for i in items if i["stage"] == stage}
                    for stage in ("identification", "support", "criminal_justice", "prevention")
                }
            return table

        async def as_expected() -> bool:
            return await seen() == EXPECTED

        try:
            await eventually(as_expected, "every agency to see exactly its flags")
        except AssertionError:
            assert await seen() == EXPECTED  # says which cells differ
        assert (await get(BY_TYPE["analyst"], journey_id=journey)).status_code == 403

        # One by one: 200 where the table says so, 404 (never 403) everywhere else.
        for flag in flags:
            rule = flag.data["rule_id"]
            for agency_type, stages in EXPECTED.items():
                response = await get(BY_TYPE[agency_type], f"/v1/flags/{flag.data['flag_id']}")
                expected = 200 if rule in stages[stage_of[rule]] else 404
                assert response.status_code == expected, (agency_type, rule)

        # Pages of two, filters, cursors: the provider's eight flags, in due order.
        provider, pages, cursor = BY_TYPE["support_provider"], [], None
        while True:
            params = {"journey_id": journey, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await get(provider, **params)).json()
            pages.append([i["rule_id"] for i in page["items"]])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        in_due_order = [f.data["rule_id"] for f in flags]
        listed = [rule for page_rules in pages for rule in page_rules]
        assert listed == [
            r for r in in_due_order if r in set().union(*EXPECTED["support_provider"].values())
        ]
        assert all(len(p) <= 2 for p in pages) and len(pages) == 4
        support_only = (await get(provider, journey_id=journey, stage="support")).json()
        assert {i["rule_id"] for i in support_only["items"]} == SUPPORT_RULES
        critical = (await get(provider, journey_id=journey, severity="critical")).json()
        assert {i["rule_id"] for i in critical["items"]} == {
            "missing-episode",
            "detained-while-decision-stands-or-pending",
        }
        assert (await get(provider, journey_id=journey, status="resolved")).json()["items"] == []
        one = (await get(provider, journey_id=journey, rule="no-first-contact")).json()
        assert [i["rule_id"] for i in one["items"]] == ["no-first-contact"]
        middle = flags[len(flags) // 2].data["due_at"]
        before = (await get(provider, journey_id=journey, due_before=middle)).json()["items"]
        after = (await get(provider, journey_id=journey, due_after=middle)).json()["items"]
        assert len(before) + len(after) == len(listed)
        assert all(i["due_at"] < middle for i in before)
        assert (await get(provider, cursor="not-a-cursor")).status_code == 400
