"""Traces and metrics for one process, set up once at start-up from the environment.

Traces follow the standard OpenTelemetry variables: `OTEL_SDK_DISABLED=true` turns them
off, `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) names the OTLP/HTTP
collector, `OTEL_TRACES_SAMPLER`, `OTEL_RESOURCE_ATTRIBUTES` and the exporter's own
variables work as documented. With no endpoint, spans are still made, so every Kafka
record carries its `traceparent`; they are just not exported.

Metrics are Prometheus's (`metrics.py`), served on `METRICS_PORT` when it is set.

Database statements are timed into a metric, and the slow or failed ones get spans, by the
observer every pool installs (`db.StatementObserver`), not by a span per statement.

Kafka spans are this codebase's own (relay.py, consumer.py, the processor's batch), not
the aiokafka / confluent-kafka instrumentations: those make a span for every consumed
record (the analytics sink reads thousands a second) and append a second `traceparent`
header to records that already carry one.
"""

from __future__ import annotations

import logging
import os
from importlib.metadata import version

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from prometheus_client import start_http_server

from journey_platform.settings import PlatformSettings

log = logging.getLogger(__name__)

_started: list[str] = []  # the one service this process was started as


def tracing_enabled() -> bool:
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() != "true"


def _exporting() -> bool:
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    return bool(endpoint) and os.environ.get("OTEL_TRACES_EXPORTER", "otlp") != "none"


def start_telemetry(settings: PlatformSettings, *, service_name: str | None = None) -> None:
    """Set up this process's tracer provider and metrics endpoint; safe to call twice.
    `service_name` names a process that is not the service its settings describe (the
    analytics sink runs on the analytics service's settings)."""
    # OTEL_SERVICE_NAME, the standard variable, overrides the process's own name.
    name = os.environ.get("OTEL_SERVICE_NAME") or service_name or settings.service_name
    if _started:
        return
    _started.append(name)
    if settings.metrics_port:
        # A thread of its own: scrapes are answered even while the event loop is busy.
        start_http_server(settings.metrics_port, addr=settings.metrics_host)
    if not tracing_enabled():
        return
    resource = Resource.create(
        {
            "service.name": name,
            "service.version": version("journey-platform"),
            "deployment.environment.name": settings.deployment_environment,
            # The attribute's name before semantic conventions 1.27, which many backends
            # and dashboards still filter on.
            "deployment.environment": settings.deployment_environment,
        }
    )
    provider = TracerProvider(resource=resource)
    if _exporting():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    log.info(
        "telemetry started",
        extra={"traces_exported": _exporting(), "metrics_port": settings.metrics_port or None},
    )
