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
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import asyncpg

from journey_api.tokens import DevelopmentSigner
from journey_cli import partners
from journey_cli.devstack import Stack, StackError
from journey_cli.traces import flag_trace_link
from journey_platform.contracts import Contracts
from journey_platform.kafka import consumer_lag
from journey_platform.settings import find_schemas_dir

SERVICES = {"referral": 8001, "support": 8002, "prosecution": 8003, "flags": 8005}
ANALYTICS_PORT = 8004
# Each process's Kafka principal on a secured broker (`devstack up --kafka-security
# sasl_ssl`): its name in schemas/topics.yaml. The desk does not use Kafka.
PRINCIPALS = {
    **{name: name for name in SERVICES},
    "journey-processor": "journey-processor",
    "analytics-sink": "analytics",
    "analytics": "analytics",
}
# Each process's Prometheus metrics port; the name is its `job` in Prometheus.
METRICS_PORTS = {
    "referral": 9101,
    "support": 9102,
    "prosecution": 9103,
    "journey-processor": 9104,
    "analytics-sink": 9105,
    "analytics": 9106,
    "flags": 9107,
}
PROCESSOR_GROUP = "journey-processor"  # the processor's app id is its consumer group
SINK_GROUP = "analytics-sink"
CONTRACTS = Contracts.load(find_schemas_dir())


@dataclass(frozen=True)
class Deployment:
    """Where one set of the system's processes listens and what its parts are called.

    `journey run` uses the defaults: the ports above, which its report prints. Another
    deployment on the same stack (the fault suite starts one per scenario) shifts every
    port by `port_offset` and suffixes its databases, consumer groups, processor
    application id and state folder with `name`, so it neither collides with a run nor
    reads what an earlier deployment left in its databases."""

    port_offset: int = 0
    name: str = ""

    def http_port(self, process: str) -> int:
        return {**SERVICES, "analytics": ANALYTICS_PORT}[process] + self.port_offset

    def url(self, process: str) -> str:
        return f"http://127.0.0.1:{self.http_port(process)}"

    def metrics_port(self, process: str) -> int | None:
        port = METRICS_PORTS.get(process)
        return None if port is None else port + self.port_offset

    def named(self, part: str, separator: str = "-") -> str:
        """A database, consumer group prefix or folder of this deployment."""
        return f"{part}{separator}{self.name}" if self.name else part


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


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


class System:
    """The processes of one run: started with their logs in .devstack/services/."""

    def __init__(
        self, stack: Stack, signer: DevelopmentSigner, deployment: Deployment | None = None
    ) -> None:
        self.stack = stack
        self.deployment = deployment or Deployment()
        self.logs = stack.root / "services"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.base = stack.database_url.rsplit("/", 1)[0]
        self.jwks = signer.jwks_file
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        # The processor's consumer group, changelog topics and local state (RocksDB,
        # rebuilt from its changelog); start_processor may name others.
        self.processor_app_id = self.deployment.named(PROCESSOR_GROUP)
        self.processor_data_dir = stack.root / self.deployment.named("processor")
        self._commands: dict[str, tuple[str, tuple[str, ...], Mapping[str, str]]] = {}
        self._log_files: list[IO[bytes]] = []

    def environment(self, **extra: str) -> dict[str, str]:
        return {**os.environ, **self.stack.environment(), **extra}

    def start(self, name: str, module: str, *args: str, env: Mapping[str, str]) -> None:
        """Start one process, serving its metrics on its port (if it has one in
        METRICS_PORTS), which Prometheus scrapes; a process started again (after a fault)
        appends to the same log."""
        log = (self.logs / f"{self.deployment.named(name)}.log").open("ab")
        self._log_files.append(log)
        self._commands[name] = (module, args, env)
        port = self.deployment.metrics_port(name)
        self.processes[name] = subprocess.Popen(  # noqa: S603 - our own modules
            [sys.executable, "-m", module, *args],
            env={
                **env,
                **self.stack.kafka_principal(PRINCIPALS.get(name)),
                "METRICS_PORT": str(port or 0),
            },
            stdout=log,
            stderr=log,
        )
        if port:
            self.stack.scrape(name, port)

    def start_all(self) -> None:
        self.start_all_but_the_processor()
        self.start_processor()

    def start_all_but_the_processor(self) -> None:
        """The partner APIs, the flags service, the analytics sink and service."""
        for name in SERVICES:
            self.start_service(name)
        self.start("analytics-sink", "analytics", "sink", env=self.analytics_environment())
        self.start("analytics", "analytics", "serve", env=self.analytics_environment())

    def kill(self, name: str) -> None:
        """SIGKILL: no goodbye, no drain, no commit, as a lost node."""
        self.processes[name].kill()
        self.processes[name].wait()

    def terminate(self, name: str, within: float = 60) -> None:
        """SIGTERM: a clean stop (in-flight requests finish, outboxes drain, offsets commit)."""
        self.processes[name].terminate()
        self.processes[name].wait(timeout=within)

    def restart(self, name: str) -> None:
        """Start a process that was killed or stopped again, as it was first started."""
        module, args, env = self._commands[name]
        self.start(name, module, *args, env=env)

    def module(self, name: str) -> str:
        """The module a process runs (a service's own, or another entry to it)."""
        return self._commands[name][0]

    def start_service(self, name: str, *entry: str) -> None:
        """A partner API or the flags service, on its own database; `entry` is another
        module (and its arguments) that runs the same service, such as the fault suite's."""
        d = self.deployment
        self.start(
            name,
            *(entry or (name,)),
            env=self.environment(
                DATABASE_URL=f"{self.base}/{d.named(name, '_')}",
                HTTP_PORT=str(d.http_port(name)),
                AUTH_JWKS_FILE=str(self.jwks),
                ACCEPT_SIMULATED_TIME="true",
                CONSUMER_GROUP_PREFIX=d.named(name),
                # Where the flags service links a flag's timeline.
                **{f"{s.upper()}_API_URL": d.url(s) for s in SERVICES if s != "flags"},
            ),
        )

    def analytics_environment(self) -> dict[str, str]:
        d = self.deployment
        return self.environment(
            DATABASE_URL=f"{self.base}/{d.named('analytics', '_')}",
            HTTP_PORT=str(d.http_port("analytics")),
            AUTH_JWKS_FILE=str(self.jwks),
            CONSUMER_GROUP_PREFIX=d.named("analytics"),
        )

    def start_processor(self, app_id: str | None = None) -> None:
        """The journey processor; `app_id` gives it a consumer group, changelog topics and
        state folder of its own, as the fault suite does for each scenario (a simulation's
        clock, kept in that state, never goes back)."""
        if app_id is not None:
            self.processor_app_id, self.processor_data_dir = app_id, self.stack.root / app_id
        self.start(
            "journey-processor",
            "journey_processor",
            env=self.environment(
                LOG_LEVEL="WARNING",
                PROCESSOR_APP_ID=self.processor_app_id,
                PROCESSOR_DATA_DIR=str(self.processor_data_dir),
                PROCESSOR_CLOCK_SECONDS="0",
            ),
        )

    def wait_ready(self, within: float = 300) -> None:
        # Generous: seven Python processes importing at once took over 120 s at a load
        # average of 20; a process that exits is reported at once all the same.
        deadline = time.monotonic() + within
        for name in (*SERVICES, "analytics"):
            while not _ready(self.deployment.url(name)):
                if self.processes[name].poll() is not None or time.monotonic() > deadline:
                    log = self.logs / f"{self.deployment.named(name)}.log"
                    raise StackError(
                        f"the {name} service did not start within {within:.0f} s; see {log}"
                    )
                time.sleep(0.25)

    def supervise(self) -> None:
        """Fail loudly if any process died: nothing here restarts a process."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                log = self.logs / f"{self.deployment.named(name)}.log"
                raise StackError(f"{name} stopped (status {process.returncode}); see {log}")

    def start_desk(self, summary: Path) -> None:
        """The simulated agencies' webhook endpoints, subscribed before the simulation."""
        flags_url = self.deployment.url("flags")
        self.start(
            "desk",
            "journey_cli",
            *partners.desk_arguments(flags_url, summary),
            env=self.environment(),
        )
        partners.wait_subscribed(summary, self.supervise)

    def stop(self) -> None:
        for name in self.processes:
            if name in METRICS_PORTS:
                self.stack.unscrape(name)
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in self._log_files:
            log.close()


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
    from analytics.report import summary

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


def run(root: Path, cohort: Cohort, *, serve: bool = True) -> int:
    clock = Clock()
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
