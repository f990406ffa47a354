"""deploy/observability/grafana-dashboard.json imports into Grafana as a dashboard, and
every series it charts is one the system exports (so renaming a metric breaks this)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.observability.promql import PROMETHEUS_SERIES, exported_names, metric_names

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "observability" / "grafana-dashboard.json"
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}


def _dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return document


def _charts() -> list[dict[str, Any]]:
    return [panel for panel in _dashboard()["panels"] if panel["type"] != "row"]


def test_it_is_a_dashboard_with_a_datasource_chosen_on_import() -> None:
    dashboard = _dashboard()
    assert dashboard["title"] and dashboard["uid"]
    assert isinstance(dashboard["schemaVersion"], int)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"


def test_every_panel_has_a_place_and_unique_id() -> None:
    panels = _dashboard()["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        assert panel["type"] and panel["title"]
        grid = panel["gridPos"]
        assert {"h", "w", "x", "y"} <= set(grid)
        assert grid["x"] + grid["w"] <= 24, panel["title"]


@pytest.mark.parametrize("panel", _charts(), ids=lambda p: p["title"])
def test_every_chart_queries_the_chosen_prometheus(panel: dict[str, Any]) -> None:
    assert panel["datasource"] == DATASOURCE
    assert panel["targets"]
    for target in panel["targets"]:
        assert target["expr"].strip() and target["refId"]
        assert target["datasource"] == DATASOURCE


@pytest.mark.parametrize("panel", _charts(), ids=lambda p: p["title"])
def test_every_metric_charted_is_exported(panel: dict[str, Any]) -> None:
    known = exported_names() | PROMETHEUS_SERIES
    for target in panel["targets"]:
        names = metric_names(target["expr"])
        assert names, target["expr"]
        assert names <= known, f"not in journey_platform.metrics: {sorted(names - known)}"


def test_the_overview_covers_what_operators_watch() -> None:
    charted = {
        name
        for panel in _charts()
        for target in panel["targets"]
        for name in metric_names(target["expr"])
    }
    assert charted >= {
        "up",
        "journey_http_request_duration_seconds_count",
        "journey_http_request_duration_seconds_bucket",
        "journey_consumer_lag_records",
        "journey_outbox_backlog_rows",
        "journey_outbox_oldest_unsent_age_seconds",
        "journey_dead_letters_total",
        "journey_processor_records_total",
        "journey_processor_transaction_duration_seconds_bucket",
        "journey_processor_last_commit_timestamp_seconds",
        "journey_flags_raised_total",
        "journey_flags_resolved_total",
        "journey_flags_open",
    }
