"""promtool accepts the alerting rules (deploy/observability/alerts.yaml) and their unit
tests pass: the alerts fire on the bad synthetic series and stay quiet on the normal ones.
promtool is built from the Go module proxy by the devstack. What can be checked without
it (runbook links, labels, metric names) is in tests/observability/test_alerts.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

from journey_cli.devstack.gotools import built_tool

ROOT = Path(__file__).resolve().parents[2]
RULES = "deploy/observability/alerts.yaml"
RULE_TESTS = "deploy/observability/alerts.test.yaml"


def _promtool(*args: str) -> None:
    promtool = built_tool("promtool")
    result = subprocess.run(
        [str(promtool), *args], capture_output=True, text=True, check=False, cwd=ROOT, timeout=300
    )
    output = f"$ promtool {' '.join(args)}\n{result.stdout}{result.stderr}"
    print(output)
    assert result.returncode == 0, output


def test_promtool_checks_the_rules() -> None:
    _promtool("check", "rules", "--lint=all", "--lint-fatal", RULES)


def test_promtool_unit_tests_pass() -> None:
    _promtool("test", "rules", RULE_TESTS)
