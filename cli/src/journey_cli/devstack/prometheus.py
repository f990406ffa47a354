"""A real Prometheus server without Docker: built from the Go module proxy, data under .devstack.

It scrapes what the stack's processes register: each process that serves metrics gets
one file `targets/<job>.json` (file service discovery, re-read within seconds), written by
`scrape()` and removed by `unscrape()`. Scrapes and rule evaluations run every 2 seconds,
so a local demo and the tests get answers quickly. The alerting rules, when their file
exists, are loaded from ALERT_RULES.
"""

from __future__ import annotations

import json
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

ALERT_RULES = Path("deploy") / "observability" / "alerts.yaml"  # under the project root
INTERVAL = "2s"


@dataclass(frozen=True)
class LocalPrometheus:
    home: Path  # .devstack/prometheus
    port: int
    rules: Path  # the project's ALERT_RULES; loaded only if it exists

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "prometheus.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "prometheus.log"

    @property
    def config_file(self) -> Path:
        return self.home / "prometheus.yml"

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def targets(self) -> Path:
        return self.home / "targets"

    def running(self) -> bool:
        return read_pid(self.pid_file) is not None

    def start(self) -> bool:
        """Start the server unless it runs already; True if this call started it."""
        if self.running():
            return False
        if port_open("127.0.0.1", self.port):
            raise StackError(
                f"port {self.port} is taken by another process; set DEVSTACK_PROMETHEUS_PORT"
            )
        prometheus = built_tool("prometheus")
        self.targets.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(self.config())
        launch(
            [
                str(prometheus),
                f"--config.file={self.config_file}",
                f"--storage.tsdb.path={self.data}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle",  # POST /-/reload after the rules change
            ],
            what="Prometheus",
            pid_file=self.pid_file,
            log_file=self.log_file,
            ports=(self.port,),
            timeout=60,
        )
        return True

    def stop(self) -> bool:
        return stop_process(self.pid_file, timeout=30)

    def scrape(self, job: str, port: int) -> None:
        """Have Prometheus scrape http://127.0.0.1:<port>/metrics as `job` from now on."""
        self.targets.mkdir(parents=True, exist_ok=True)
        group = [{"targets": [f"127.0.0.1:{port}"], "labels": {"job": job}}]
        # Written aside and renamed: Prometheus never reads half a file.
        partial = self.targets / f".{job}.json.{os.getpid()}"
        partial.write_text(json.dumps(group))
        os.replace(partial, self._target_file(job))

    def unscrape(self, job: str) -> None:
        self._target_file(job).unlink(missing_ok=True)

    def _target_file(self, job: str) -> Path:
        if not job or "/" in job or job.startswith("."):
            raise ValueError(f"not a job name: {job!r}")
        return self.targets / f"{job}.json"

    def config(self) -> str:
        rules = f"\n  - {self.rules}" if self.rules.exists() else " []"
        return f"""\
# Written by `journey devstack`: one Prometheus for one machine.
global:
  scrape_interval: {INTERVAL}
  evaluation_interval: {INTERVAL}

rule_files:{rules}

scrape_configs:
  - job_name: devstack
    # Each file holds one process's target and its job label (see Stack.scrape).
    file_sd_configs:
      - files: ["{self.targets}/*.json"]
        refresh_interval: {INTERVAL}
"""
