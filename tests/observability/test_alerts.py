"""deploy/observability/alerts.yaml, read without Prometheus: the alerts are there,
each is unit-tested firing and quiet, links its section of docs/operations.md, reads
only exported metrics and carries no label that could say anything about a person.
(tests/integration/test_alert_rules.py runs promtool over the same files.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.observability.promql import PROMETHEUS_SERIES, exported_names, metric_names

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "observability" / "alerts.yaml"
RULE_TESTS = ROOT / "deploy" / "observability" / "alerts.test.yaml"
RUNBOOK = ROOT / "docs" / "operations.md"
# Every runbook_url: the runbook on GitHub, at the alert's own section.
RUNBOOK_BASE = "https://github.com/victim-journey/victim-journey/blob/main/docs/operations.md#"
# The labels an alert may keep: bounded vocabularies, never anything about a person.
ALLOWED_LABELS = {"job", "instance", "group", "topic", "reason", "rule", "severity"}
TEMPLATE_LABEL = re.compile(r"\$labels\.(\w+)")


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


ALERTS = [rule for rule in _rules() if "alert" in rule]


def _cases(alertname: str) -> list[dict[str, Any]]:
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    return [
        case
        for group in tests
        for case in group.get("alert_rule_test", [])
        if case["alertname"] == alertname
    ]


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the headings: lower case, punctuation dropped, spaces to '-'."""
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_the_alerts_are_there() -> None:
    assert {alert["alert"] for alert in ALERTS} == {
        "ConsumerLagGrowing",
        "OutboxOldestRowTooOld",
        "DeadLetterRecorded",
        "ProcessorNotCommitting",
        "FlagRateAboveBaseline",
        "WebhookDeliveryGivenUp",
        "ServiceDown",
    }


@pytest.mark.parametrize("alert", ALERTS, ids=lambda a: a["alert"])
def test_every_alert_is_unit_tested_firing_and_quiet(alert: dict[str, Any]) -> None:
    cases = _cases(alert["alert"])
    assert [case for case in cases if case.get("exp_alerts")], "no test shows it firing"
    assert [case for case in cases if not case.get("exp_alerts")], "no test shows it quiet"


@pytest.mark.parametrize("alert", ALERTS, ids=lambda a: a["alert"])
def test_every_alert_links_its_runbook_section(alert: dict[str, Any]) -> None:
    annotations = alert["annotations"]
    assert annotations["summary"] and annotations["description"]
    assert annotations["runbook_url"] == RUNBOOK_BASE + alert["alert"].lower()
    assert alert["alert"].lower() in _anchors(RUNBOOK.read_text()), (
        f"docs/operations.md has no heading {alert['alert']}"
    )


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r.get("alert") or r["record"])
def test_every_rule_reads_exported_metrics(rule: dict[str, Any]) -> None:
    recorded = {r["record"] for r in _rules() if "record" in r}
    known = exported_names() | PROMETHEUS_SERIES | recorded
    names = metric_names(rule["expr"])
    assert names and names <= known, f"not in journey_platform.metrics: {sorted(names - known)}"


@pytest.mark.parametrize("alert", ALERTS, ids=lambda a: a["alert"])
def test_no_alert_keeps_a_label_beyond_bounded_vocabularies(alert: dict[str, Any]) -> None:
    assert alert["labels"]["severity"] in {"critical", "warning"}
    assert set(alert["labels"]) <= ALLOWED_LABELS
    templated = {
        name for text in alert["annotations"].values() for name in TEMPLATE_LABEL.findall(text)
    }
    assert templated <= ALLOWED_LABELS
    for kept in re.findall(r"\bby\s*\(([^)]*)\)", alert["expr"]):
        assert {name.strip() for name in kept.split(",")} <= ALLOWED_LABELS
