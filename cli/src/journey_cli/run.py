"""`journey run`: the whole system on this machine, a simulated cohort through it, a report.

1. Starts the local stack from empty topics and databases (a demo holds generated people
   only, and a cohort's ground truth only holds for a clean slate), unless
   KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL name servers to use as they are.
2. Starts the three partner services and the flags service (accepting the simulator's
   clock), the journey processor (clock off: the simulator moves time), the analytics
   sink and the analytics service, and waits until each answers; then the simulated
   agencies' desk, which subscribes every agency to its flags' webhooks.
3. Simulates a calibrated cohort through the partner APIs over HTTP.
4. Waits until the processor, the sink and the flags service have caught up and every
   webhook is delivered, then prints the report: the funnel, the top drop-off rules,
   detection recall and precision against the drop-offs the simulator injected, what
   each kind of agency was told and how fast it acted, and where the charts and the
   dashboards are.
5. Serves the APIs' docs and the dashboard until Ctrl-C, then stops everything cleanly
   (services finish in-flight requests and drain their outboxes; consumers commit).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from journey_api.tokens import DevelopmentSigner
from journey_cli import partners
from journey_cli.devstack import Stack, StackError
from journey_cli.system import ANALYTICS_PORT, PROCESSOR_GROUP, SERVICES, System
from journey_cli.traces import flag_trace_link
from journey_platform.contracts import Contracts
from journey_platform.kafka import consumer_lag
from journey_platform.settings import find_schemas_dir

SINK_GROUP = "analytics-sink"
CONTRACTS = Contracts.load(find_schemas_dir())


@dataclass(frozen=True)
class Cohort:
    journeys: int
    seed: int
    start: str
    months: int


class Clock:
    """Seconds since the run began, for the progress lines."""

    def __init__(self) -> None:
        self.began = time.monotonic()

    def say(self, message: str) -> None:
        print(f"[{time.monotonic() - self.began:5.0f}s] {message}", flush=True)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _caught_up(system: System, clock: Clock, within: float = 900) -> None:
    """Until the processor has read every journey event and tick, and the sink every
    output, with nothing new arriving in between (outbox relays publish a moment after
    the APIs answer, and the processor commits every few seconds)."""
    bootstrap = system.stack.bootstrap_servers
    deadline = time.monotonic() + within
    quiet = 0
    said = 0.0
    while quiet < 2:
        system.supervise()
        processor, sink = asyncio.run(_lags(bootstrap))
        if time.monotonic() > deadline:
            raise StackError(
                f"not caught up after {within:.0f}s: processor {processor}, sink {sink} to go"
            )
        if processor == sink == 0:
            quiet += 1
        else:
            quiet = 0
            if time.monotonic() - said > 15:
                clock.say(f"processing: {processor:,} events to go; sink: {sink:,} outputs to go")
                said = time.monotonic()
        time.sleep(3)


async def _lags(bootstrap: str) -> tuple[int, int]:
    return await asyncio.gather(
        consumer_lag(bootstrap, PROCESSOR_GROUP, CONTRACTS.consumed_by(PROCESSOR_GROUP)),
        consumer_lag(bootstrap, SINK_GROUP, ["journey.outcomes", "journey.dropoffs"]),
    )


async def _flags(database_url: str) -> list[tuple[str, str]]:
    """Every drop-off flag the processor raised and did not retract (open or resolved)."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT journey_id, rule_id FROM dropoff_flags WHERE status <> 'retracted'"
        )
    finally:
        await conn.close()
    return [(row["journey_id"], row["rule_id"]) for row in rows]


def _detection(truth_file: Path, database_url: str) -> str:
    from journey_simulator.truth import score

    truth = json.loads(truth_file.read_text())
    result = score(truth, asyncio.run(_flags(database_url)))
    lines = [
        f"Detection against the injected drop-offs (ground truth: {truth_file}):",
        f"  recall    {result['recall']:.1%}  ({result['true_positives']:,} of "
        f"{result['true_positives'] + result['false_negatives']:,} injected found)",
        f"  precision {result['precision']:.1%}  ({result['false_positives']:,} flagged "
        "that were not injected)",
    ]
    for rule, counts in sorted(result.get("by_rule", {}).items()):
        if counts.get("false_negatives") or counts.get("false_positives"):
            lines.append(
                f"    {rule}: {counts.get('false_negatives', 0)} missed, "
                f"{counts.get('false_positives', 0)} not injected"
            )
    return "\n".join(lines)


def _simulate(cohort: Cohort, truth_file: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "journey_cli",
        "simulate",
        "--journeys",
        str(cohort.journeys),
        "--seed",
        str(cohort.seed),
        "--start",
        cohort.start,
        "--months",
        str(cohort.months),
        "--truth",
        str(truth_file),
    ]
    if subprocess.call(command) != 0:  # noqa: S603 - our own command
        raise StackError("the simulation failed (see above)")


def _report(system: System, truth_file: Path, token: str, desk: Path) -> str:
    from analytics.cli.report import summary

    url = f"http://127.0.0.1:{ANALYTICS_PORT}"
    charts = system.stack.root / "charts"
    report = [sys.executable, "-m", "journey_cli", "report", "charts", "--url", url]
    written = subprocess.call([*report, "--out", str(charts)])  # noqa: S603
    parts = [
        summary(url, token),
        _detection(truth_file, f"{system.base}/analytics"),
        partners.report(system.stack.bootstrap_servers, CONTRACTS, desk),
        f"Charts (PNG and SVG): {charts}" if written == 0 else "Charts: not written (see above)",
    ]
    return "\n\n".join(parts)


def _print_operations(stack: Stack) -> None:
    """Where an operator looks: traces, metrics and alerts, and one flag's trace."""
    environment = stack.environment()
    jaeger, prometheus = environment.get("JAEGER_URL"), environment.get("PROMETHEUS_URL")
    if jaeger:
        print(f"  traces       {jaeger}   (Jaeger)")
        link = flag_trace_link(stack.bootstrap_servers, jaeger)
        print(f"  a flag's trace, from the partner's request to the flag:  {link or 'none found'}")
    if prometheus:
        # The HTTP API: a Prometheus built from its Go module has no web UI assets.
        print(f"  metrics      {prometheus}/api/v1/targets   (Prometheus; alerts: /api/v1/alerts)")


def _fresh_stack(clock: Clock) -> Stack:
    """The local stack up, emptied first when this run owns it."""
    stack = Stack.from_environment()
    if stack.kafka and stack.postgres:
        clock.say(
            "starting the local Kafka, PostgreSQL, Jaeger and Prometheus from empty topics, "
            "databases, traces and metrics"
        )
        stack.reset()
    # The processor's local state (RocksDB) and the last cohort's truth belong to the
    # topics just emptied: a processor finding state newer than its changelog refuses to
    # start, and an old truth would score the wrong cohort.
    for leftover in ("processor", "simulation", "charts"):
        shutil.rmtree(stack.root / leftover, ignore_errors=True)
    stack.up()  # a failed up stops what it started
    return stack


def _print_serving(signer: DevelopmentSigner, token: str) -> None:
    """The addresses a person opens next: API docs, the dashboard, a provider's flags."""
    print("\nServing (logs in .devstack/services/):")
    for name, port in SERVICES.items():
        print(f"  {name:12} API docs  http://127.0.0.1:{port}/docs")
    print(f"  {'analytics':12} API docs  http://127.0.0.1:{ANALYTICS_PORT}/docs")
    print(f"  dashboard    http://127.0.0.1:{ANALYTICS_PORT}/dashboard#token={token}")
    provider = signer.mint(
        agency_id="haven-support", scopes=["flags:read"], lifetime_seconds=12 * 3600
    )
    flags_page = f"http://127.0.0.1:{SERVICES['flags']}/dashboard#token={provider}"
    print(f"  a support provider's open flags  {flags_page}")
    print("  a report:    uv run journey report funnel   (or dropoffs --by rule, ...)")


def run(root: Path, cohort: Cohort, *, serve: bool = True) -> int:
    clock = Clock()
    stack = _fresh_stack(clock)
    signer = DevelopmentSigner(root / ".devstack" / "auth")
    system = System(stack, signer)
    truth_file = stack.root / "simulation" / "truth.json"
    desk = stack.root / "simulation" / "desk.json"
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _interrupt)
        system.start_all()
        system.wait_ready()
        system.start_desk(desk)
        clock.say(
            "partner services, flags service, journey processor, analytics sink and service "
            "are up; every agency subscribed to its flags' webhooks"
        )
        clock.say(
            f"simulating {cohort.journeys:,} journeys (seed {cohort.seed}) from "
            f"{cohort.start} over {cohort.months} months"
        )
        _simulate(cohort, truth_file)
        clock.say("simulation done; waiting for the processor and the sink to catch up")
        _caught_up(system, clock)
        partners.wait_told(
            stack.bootstrap_servers, CONTRACTS, f"{system.base}/flags", desk, system.supervise
        )
        token = signer.mint(
            agency_id="nrm-analysts",
            scopes=["analytics:read", "analytics:export"],
            lifetime_seconds=12 * 3600,
        )
        clock.say("report:\n")
        print(_report(system, truth_file, token, desk), flush=True)
        _print_serving(signer, token)
        _print_operations(stack)
        clock.say("ready")
        if serve:
            print("Press Ctrl-C to stop.", flush=True)
            while True:
                time.sleep(1)
                system.supervise()
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping...", flush=True)
        for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut it short
            signal.signal(signum, signal.SIG_IGN)
        system.stop()
        if stack.kafka and stack.postgres:
            stack.down()
    return 0
