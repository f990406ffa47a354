"""The system's processes on this machine: where each listens, and starting, stopping and
supervising them, with their logs in .devstack/services/. `journey run` and the fault
suite start them through System."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from journey_api.tokens import DevelopmentSigner
from journey_cli import partners
from journey_cli.devstack import Stack, StackError

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


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


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
        # On one machine, traces show every database statement of a request (production
        # keeps the default: only the slow or failed ones); the caller's environment wins.
        return {"DB_STATEMENT_SPAN_MS": "0", **os.environ, **self.stack.environment(), **extra}

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
