"""Telemetry set-up: what a process serves and exports, by environment; dead-letter codes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from journey_platform.consumer import REASON_CODES, reason_code


def run_python(code: str, **env: str) -> str:
    """`code` in a fresh interpreter (a tracer provider can be set once per process)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


SETUP = """
    import socket, urllib.request
    from opentelemetry import trace
    from journey_platform.settings import PlatformSettings
    from journey_platform.telemetry import start_telemetry
    from journey_platform.tracing import current_traceparent, tracer
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    start_telemetry(PlatformSettings(service_name="referral", metrics_port=port))
    with tracer("t").start_as_current_span("work"):
        print(current_traceparent())
    print(type(trace.get_tracer_provider()).__name__)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    print("process_cpu_seconds_total" in body)
"""


def test_a_process_traces_and_serves_its_metrics_with_no_collector_configured() -> None:
    traceparent, provider, served = run_python(SETUP).splitlines()
    assert traceparent.startswith("00-")  # records still carry their trace context
    assert provider == "TracerProvider"
    assert served == "True"


def test_otel_sdk_disabled_turns_tracing_off_but_not_metrics() -> None:
    traceparent, provider, served = run_python(SETUP, OTEL_SDK_DISABLED="true").splitlines()
    assert traceparent == "None"
    assert provider != "TracerProvider"
    assert served == "True"


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("envelope: record key is not the event subject", "envelope"),
        ("body: not valid JSON", "body"),
        ("uk.nrm.support.accepted v1: $.support_case_id: must match", "body"),
        ("unknown event type 'uk.nrm.nothing'", "unknown-type"),
        ("no schema for uk.nrm.support.accepted v9", "unknown-type"),
        ("rejected by handler: case closed", "rejected"),
        ("processing failed: KeyError", "processing-failed"),
    ],
)
def test_every_dead_letter_reason_has_a_code_from_the_closed_list(reason: str, code: str) -> None:
    assert reason_code(reason) == code
    assert code in REASON_CODES
