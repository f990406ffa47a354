"""The drop-off rules catalogue: every rule refers to real events, fields and values."""

from __future__ import annotations

from pathlib import Path

import pytest

from journey_platform.contracts import Contracts
from journey_platform.settings import find_schemas_dir
from journey_processor.core.rules.catalogue import CatalogueError, Severity, Stage, Within, load

CONTRACTS = Contracts.load(find_schemas_dir())

# The first catalogue must cover at least these drop-off points (issue 4).
REQUIRED = {
    "reasonable-grounds-overdue": Within(working_days=5),
    "no-first-contact": Within(hours=48),
    "no-support-contact": Within(days=14),
    "conclusive-grounds-pending": Within(days=365),
    "negative-decision-not-reconsidered": Within(days=30),
    "no-legal-representation": Within(days=60),
    "police-referral-no-crime": Within(days=28),
    "investigation-no-victim-contact": Within(days=28),
}
IMMEDIATE = {
    "adult-declined-referral",
    "missing-episode",
    "support-ended-conclusive-grounds-pending",
    "move-on-cliff-edge",
    "victim-withdrew",
    "re-referral",
    "detained-while-decision-stands-or-pending",
}


def test_the_catalogue_loads_and_covers_the_known_drop_off_points() -> None:
    rules = load(CONTRACTS)
    assert {r: rules[r].within for r in REQUIRED} == REQUIRED
    assert {r.id for r in rules.values() if r.kind == "immediate"} == IMMEDIATE
    assert {r.stage for r in rules.values()} == set(Stage)
    for rule in rules.values():
        assert rule.rationale and rule.source and rule.severity in Severity


def test_matchers_select_on_type_and_field_values() -> None:
    rule = load(CONTRACTS)["victim-withdrew"]
    assert rule.raised_by is not None and rule.cleared_by is not None
    assert rule.raised_by.matches("uk.nrm.victim-engagement.changed", {"status": "withdrew"})
    assert not rule.raised_by.matches("uk.nrm.victim-engagement.changed", {"status": "re_engaged"})
    assert rule.cleared_by.matches("uk.nrm.victim-engagement.changed", {"status": "re_engaged"})


def test_conditions_of_immediate_rules_are_parsed() -> None:
    rules = load(CONTRACTS)
    cliff = rules["move-on-cliff-edge"].when
    assert cliff.seen_within == Within(days=45)
    assert cliff.seen_within_before is not None
    assert cliff.seen_within_before.where == {"outcome": "positive"}
    assert len(cliff.none_since) == 2
    detained = rules["detained-while-decision-stands-or-pending"].when
    assert detained.latest_not_where == {"outcome": "negative"} and len(detained.latest_among) == 2


def test_a_deployment_can_tune_a_threshold() -> None:
    rules = load(CONTRACTS, overrides={"reasonable-grounds-overdue": {"working_days": 10}})
    assert rules["reasonable-grounds-overdue"].within == Within(working_days=10)
    with pytest.raises(CatalogueError, match="no expectation rule"):
        load(CONTRACTS, overrides={"missing-episode": {"days": 1}})


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        ("uk.nrm.referral.submitted}", "unknown event type"),
        ("{event: uk.nrm.referral.submitted, where: {colour: red}}", "has no field 'colour'"),
        ("{event: uk.nrm.referral.submitted, where: {region: atlantis}}", "not a value"),
    ],
)
def test_a_typo_in_the_catalogue_is_refused_with_the_rule_named(
    tmp_path: Path, mistake: str, message: str
) -> None:
    bad = tmp_path / "catalogue.yaml"
    rule = (
        "rules:\n  - {id: typo, title: t, stage: prevention, severity: low, "
        "kind: immediate, rationale: r, source: s, raised_by: %s}\n"
    )
    on = mistake if mistake.startswith("{") else "{event: uk.nrm.referal.submitted}"
    bad.write_text(rule % on)
    with pytest.raises(CatalogueError, match=f"rule typo.*{message}"):
        load(CONTRACTS, path=bad)


def test_a_typo_inside_a_condition_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "catalogue.yaml"
    bad.write_text(
        "rules:\n  - {id: typo, title: t, stage: prevention, severity: low, kind: immediate,"
        " rationale: r, source: s, raised_by: {event: uk.nrm.support.ended},"
        " when: {not_seen_before: [{event: uk.nrm.conclusive-grounds.decidd}]}}\n"
    )
    with pytest.raises(CatalogueError, match=r"rule typo\.when\.not_seen_before: unknown event"):
        load(CONTRACTS, path=bad)
