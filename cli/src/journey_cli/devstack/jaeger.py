"""A real Jaeger v2 without Docker: built from the Go module proxy, traces kept in memory.

Jaeger v2 is an OpenTelemetry Collector distribution, configured by one YAML file. This one
runs only what the stack uses: the OTLP receivers (gRPC and HTTP), in-memory storage and
the query service (UI and HTTP API). Everything else the binary or the collector would
open by default (its own metrics on 8888, health check on 13133, Zipkin on 9411, Jaeger's
legacy receivers, remote sampling) is left out, so only the three ports below are taken.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from journey_cli.devstack.gotools import built_tool
from journey_cli.devstack.processes import (
    StackError,
    launch,
    port_open,
    read_pid,
    stop_process,
)

MAX_TRACES = 100_000  # in memory: a demo run or a test suite, then gone


@dataclass(frozen=True)
class LocalJaeger:
    home: Path  # .devstack/jaeger
    otlp_http_port: int
    otlp_grpc_port: int
    query_port: int

    @property
    def otlp_endpoint(self) -> str:
        """The OTLP/HTTP base URL (exporters append /v1/traces)."""
        return f"http://127.0.0.1:{self.otlp_http_port}"

    @property
    def url(self) -> str:
        """The UI and the HTTP query API (/api/traces/<id>, /api/v3/...)."""
        return f"http://127.0.0.1:{self.query_port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "jaeger.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "jaeger.log"

    @property
    def config_file(self) -> Path:
        return self.home / "config.yaml"

    def running(self) -> bool:
        return read_pid(self.pid_file) is not None

    def start(self) -> bool:
        """Start Jaeger unless it runs already; True if this call started it."""
        if self.running():
            return False
        for port in (self.otlp_http_port, self.otlp_grpc_port, self.query_port):
            if port_open("127.0.0.1", port):
                raise StackError(
                    f"port {port} is taken by another process; set DEVSTACK_JAEGER_OTLP_HTTP_PORT, "
                    "DEVSTACK_JAEGER_OTLP_GRPC_PORT and DEVSTACK_JAEGER_QUERY_PORT, or "
                    "OTEL_EXPORTER_OTLP_ENDPOINT to send traces to an existing collector"
                )
        jaeger = built_tool("jaeger")
        self.home.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(self.config())
        # Its own environment without OTEL_*: those describe where *our* processes export.
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        launch(
            [str(jaeger), "--config", str(self.config_file)],
            what="Jaeger",
            pid_file=self.pid_file,
            log_file=self.log_file,
            ports=(self.otlp_http_port, self.otlp_grpc_port, self.query_port),
            timeout=60,
            env=env,
        )
        return True

    def stop(self) -> bool:
        return stop_process(self.pid_file, timeout=20)

    def config(self) -> str:
        return config(
            host="127.0.0.1",
            otlp_grpc_port=self.otlp_grpc_port,
            otlp_http_port=self.otlp_http_port,
            query_port=self.query_port,
        )


def config(*, host: str, otlp_grpc_port: int, otlp_http_port: int, query_port: int) -> str:
    """Jaeger v2's configuration: the devstack's on 127.0.0.1, docker-compose.yml's
    (deploy/compose/jaeger.yaml) on every address of its container."""
    return f"""\
# Jaeger v2 for one machine, traces in memory (written by journey_cli/devstack/jaeger.py).
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      # No batch processor: memory storage takes each span at once, so it shows at once.
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    # The collector's own metrics would listen on 8888; nothing here reads them.
    metrics:
      level: none
    logs:
      level: info

extensions:
  jaeger_storage:
    backends:
      memory_store:
        memory:
          max_traces: {MAX_TRACES}
  jaeger_query:
    storage:
      traces: memory_store
    # Tracing itself would export to the default OTLP port, maybe someone else's collector.
    enable_tracing: false
    http:
      endpoint: {host}:{query_port}
    # The gRPC query API (16685 by default) is unused here: an ephemeral port cannot collide.
    grpc:
      endpoint: {host}:0

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: {host}:{otlp_grpc_port}
      http:
        endpoint: {host}:{otlp_http_port}

exporters:
  jaeger_storage_exporter:
    trace_storage: memory_store
"""
