"""`journey run`, the main job, end to end: a small cohort through the whole system.

It runs as `make run` does, on a stack of its own (its own folder and ports, started from
empty), and stops after the report. The report must find every drop-off the simulator
injected and nothing else.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from typing import Any

import httpx
import pytest
from aiokafka import TopicPartition

from journey_cli.devstack.processes import free_port
from journey_cli.run import CONTRACTS, SINK_GROUP
from journey_cli.system import METRICS_PORTS, PROCESSOR_GROUP
from journey_cli.traces import events
from journey_platform.kafka import read_to_end
from journey_platform.settings import find_schemas_dir
from tests.integration.broker import kafka_port
from tests.integration.jaeger import wait_for_trace

pytestmark = pytest.mark.integration


def test_the_main_job_simulates_a_cohort_and_reports_full_recall_and_precision() -> None:
    # In the project's .devstack, not pytest's private tmp: the PostgreSQL server runs as
    # its own user, which must be able to reach its data folder.
    folder = find_schemas_dir().parent / ".devstack" / "test-run"
    shutil.rmtree(folder, ignore_errors=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")  # its own stack, not ours
    }
    env |= {
        "DEVSTACK_DIR": str(folder),
        "DEVSTACK_KAFKA_PORT": str(kafka_port()),
        "DEVSTACK_POSTGRES_PORT": str(free_port()),
        # Traces go to the outer stack's collector (OTEL_EXPORTER_OTLP_ENDPOINT is kept);
        # Prometheus is always the stack's own.
        "DEVSTACK_PROMETHEUS_PORT": str(free_port()),
    }
    command = ["run", "--journeys", "80", "--seed", "3", "--exit-after-report"]
    run = subprocess.run(
        [sys.executable, "-m", "journey_cli", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    print(output[-1500:])  # what an operator is shown at the end

    recall = re.search(r"recall\s+([\d.]+)%\s+\((\d+) of (\d+) injected found\)", output)
    precision = re.search(r"precision\s+([\d.]+)%\s+\((\d+) flagged", output)
    assert recall and precision, output[-4000:]
    assert int(recall.group(3)) > 0, "the cohort injected no drop-offs"
    assert recall.group(1) == "100.0" and precision.group(1) == "100.0", output[-4000:]
    assert precision.group(2) == "0"

    # Partners were told: every kind of agency that takes part in journeys got webhooks
    # it could verify, and acted on some of them (as the simulated desk's habits say).
    told = {
        m.group(1): (int(m.group(2).replace(",", "")), int(m.group(3).replace(",", "")))
        for m in re.finditer(r"^  ([a-z_]+)\s+([\d,]+)\s+([\d,]+)\s+[\d.-]+$", output, re.M)
    }
    assert told["support_provider"][0] > 0 and told["support_provider"][1] > 0, output[-3000:]
    assert told["police_force"][0] > 0, output[-3000:]
    assert "signature did not verify: 0" in output
    # The report shows the funnel and the charts, and the dashboard's address.
    assert "Referral" in output
    charts = folder / "charts"
    assert {p.suffix for p in charts.iterdir()} >= {".png", ".svg"}, output[-2000:]
    assert "/dashboard#token=" in output
    assert "a support provider's open flags  http://127.0.0.1:8005/dashboard#token=" in output
    # Shut down cleanly: nothing left listening on the services' ports.
    assert "stopping..." in output

    # Operating it: the printed link opens a flag's trace, from the partner's request to
    # the flag, in the (outer stack's) Jaeger.
    link = re.search(r"a flag's trace.*?(http://\S+/trace/([0-9a-f]{32}))", output)
    assert link, output[-3000:]
    flag_trace = wait_for_trace(link.group(2), has={"journey.dropoffs send"})
    assert_request_to_flag(flag_trace)
    # Without a UI, `journey trace --flag` finds the same trace and prints it as a tree.
    # A batch publishes its flags in one send span per trace they continue, an event
    # per flag: take one of them.
    flag_id = min(
        fields["journey.flag_id"]
        for s in flag_trace["spans"]
        if s["operationName"] == "journey.dropoffs send"
        for fields in events(s)
    )
    shown = subprocess.run(
        [sys.executable, "-m", "journey_cli", "trace", "--flag", flag_id],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    # Each of the flag's traces (raised; resolved, if it was) is headed by its id, rooted
    # in a partner's request or a clock tick, and holds the flag's publication.
    traces = re.split(r"^trace ", shown.stdout, flags=re.M)[1:]
    assert link.group(2) in [t.split()[0] for t in traces], shown.stdout
    for shown_trace in traces:
        root = shown_trace.splitlines()[1]
        assert not root.startswith(" ") and (" POST /v1/" in root or "journey.clock" in root)
        assert f"journey.flag_id={flag_id}" in shown_trace, shown.stdout
    print(shown.stdout)
    # The run's Kafka and Prometheus, started again over the run's data, say the rest.
    again = subprocess.run(
        [sys.executable, "-m", "journey_cli", "devstack", "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    try:
        stack = {k: v for k, v in re.findall(r"^(\w+)=(\S+)$", again.stdout, re.M)}
        assert_one_traceparent_on_every_record(stack["KAFKA_BOOTSTRAP_SERVERS"])
        assert_every_process_was_scraped(stack["PROMETHEUS_URL"])
    finally:
        subprocess.run(
            [sys.executable, "-m", "journey_cli", "devstack", "down"], env=env, check=False
        )


def assert_request_to_flag(trace: dict[str, Any]) -> None:
    """The trace holds the partner API's server span, its database statements, the outbox
    relay's publish, the processor's batch and the flag's publication."""
    services = {pid: p["serviceName"] for pid, p in trace["processes"].items()}
    seen = {
        (
            services[span["processID"]],
            tags(span).get("span.kind", "internal"),
            span["operationName"],
        )
        for span in trace["spans"]
    }
    api = {"referral", "support", "prosecution"}
    assert any(service in api and kind == "server" for service, kind, _ in seen), seen
    assert any(service in api and name.endswith(" publish") for service, _, name in seen), seen
    # The processor's batch span: in this trace, or linked from the flag's publication
    # (a batch is the child of one of its records' traces and links to the others).
    # The batch's flags in this trace are events of a send span, linked to the batch.
    sends = [s for s in trace["spans"] if s["operationName"] == "journey.dropoffs send"]
    assert sends, seen
    for send in sends:
        batches = [
            jaeger_span(ref["traceID"], ref["spanID"])
            for ref in send.get("references", ())
            if ref["refType"] == "FOLLOWS_FROM"
        ]
        assert ("journey-processor", "consumer", "journey.process") in seen or [
            b["operationName"] for b in batches
        ] == ["journey.process"], (seen, batches)
    assert any(tags(span).get("db.system.name") == "postgresql" for span in trace["spans"]), seen


def jaeger_span(trace_id: str, span_id: str) -> dict[str, Any]:
    [span] = [s for s in wait_for_trace(trace_id, has=set())["spans"] if s["spanID"] == span_id]
    assert isinstance(span, dict)
    return span


def tags(span: dict[str, Any]) -> dict[str, Any]:
    return {tag["key"]: tag["value"] for tag in span.get("tags", ())}


def assert_one_traceparent_on_every_record(bootstrap: str) -> None:
    """Every record on every topic the system wrote carries exactly one traceparent, with
    no trace header sent by any client (the simulator sends none)."""
    topics = {name: spec.partitions for name, spec in CONTRACTS.topics.items()}
    topics[f"{PROCESSOR_GROUP}-journeys-changelog"] = CONTRACTS.journey_partitions
    counts = asyncio.run(_traceparent_counts(bootstrap, topics))
    assert counts["nrm.identification"] and counts["journey.outcomes"], counts
    assert counts[f"{PROCESSOR_GROUP}-journeys-changelog"], counts
    wrong = {topic: c for topic, c in counts.items() if set(c) - {1}}
    assert wrong == {}, f"records without exactly one traceparent (count: records): {wrong}"


async def _traceparent_counts(bootstrap: str, topics: dict[str, int]) -> dict[str, Counter[int]]:
    """Per topic: how many records carry 0, 1, 2... traceparent headers."""
    counts: dict[str, Counter[int]] = {topic: Counter() for topic in topics}
    partitions = [TopicPartition(t, p) for t, count in topics.items() for p in range(count)]
    async for batch in read_to_end(bootstrap, partitions):
        for record in batch:
            names = [name for name, _ in record.headers or ()]
            counts[record.topic][names.count("traceparent")] += 1
    return counts


def assert_every_process_was_scraped(prometheus: str) -> None:
    """Prometheus scraped every process the run started (up was 1) and holds the lag of
    the processor's and the sink's consumer groups."""

    def ask(expression: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": expression}, timeout=10)
        result: list[dict[str, Any]] = answer.raise_for_status().json()["data"]["result"]
        return result

    scraped = {s["metric"]["job"] for s in ask("max_over_time(up[1h]) == 1")}
    assert scraped >= set(METRICS_PORTS), scraped
    lagging = {
        s["metric"]["group"] for s in ask("last_over_time(journey_consumer_lag_records[1h])")
    }
    assert {PROCESSOR_GROUP, SINK_GROUP} <= lagging, lagging
