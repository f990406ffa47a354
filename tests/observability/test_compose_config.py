"""docker-compose.yml's telemetry: the devstack's Jaeger configuration, and every process
of the system scraped by its Prometheus with the alerting rules loaded."""

from __future__ import annotations

from typing import Any

import yaml

from journey_cli.devstack.jaeger import config
from journey_platform.settings import find_schemas_dir

ROOT = find_schemas_dir().parent


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_the_compose_jaeger_is_the_devstack_jaeger_on_every_address() -> None:
    checked_in = (ROOT / "deploy" / "compose" / "jaeger.yaml").read_text()
    assert checked_in == config(
        host="0.0.0.0", otlp_grpc_port=4317, otlp_http_port=4318, query_port=16686
    ), "regenerate deploy/compose/jaeger.yaml from journey_cli.devstack.jaeger.config"


def test_prometheus_scrapes_every_process_that_serves_metrics_and_loads_the_alerts() -> None:
    services = compose()["services"]
    app = {name for name, s in services.items() if "victim-journey/app" in s["image"]}
    serving = app - {"migrate"}  # a one-shot: nothing to scrape
    prometheus = yaml.safe_load((ROOT / "deploy" / "compose" / "prometheus.yml").read_text())
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in prometheus["scrape_configs"]
    }
    assert targets == {name: [f"{name}:9100"] for name in serving}
    assert prometheus["rule_files"] == ["/etc/prometheus/alerts.yaml"]
    mounts = services["prometheus"]["volumes"]
    assert "./deploy/observability/alerts.yaml:/etc/prometheus/alerts.yaml:ro" in mounts


def test_every_process_runs_read_only_after_the_migrations() -> None:
    services = compose()["services"]
    for name, service in services.items():
        if "victim-journey/app" not in service["image"]:
            continue
        assert service["read_only"] is True, name
        if name != "migrate":
            assert service["depends_on"]["migrate"] == {
                "condition": "service_completed_successfully"
            }, name
