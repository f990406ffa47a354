"""Helm releases on the devstack's API server, and the Job controller's part that helm waits for."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from journey_cli.devstack.kube import LocalKube
from tests.deploy.helm import objects
from tests.deploy.kubeapi import KubeApi, Obj


@dataclass(frozen=True)
class Helm:
    binary: Path
    kube: LocalKube

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # Always the devstack's kubeconfig: never whatever cluster KUBECONFIG names.
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
        env["KUBECONFIG"] = str(self.kube.kubeconfig)
        command = [str(self.binary), "--kubeconfig", str(self.kube.kubeconfig), *args]
        result = subprocess.run(
            command, capture_output=True, text=True, env=env, check=False, timeout=600
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"helm {' '.join(args)} exited {result.returncode}:\n{result.stderr}{result.stdout}"
            )
        return result

    def objects(self, *args: str) -> list[Obj]:
        """The objects a helm command prints as YAML documents (get manifest, get hooks)."""
        return objects(self(*args).stdout)

    def template(self, chart: Path, values: Path, *, release: str, namespace: str) -> list[Obj]:
        """The chart rendered offline for the devstack's server version (helm template's
        own default is older than a chart's kubeVersion may allow)."""
        version = json.loads(self.kube.get("/version") or b"{}")["gitVersion"]
        args = ["template", release, str(chart), "-n", namespace, "-f", str(values)]
        return self.objects(*args, "--kube-version", version)


@contextmanager
def jobs_completed(api: KubeApi, namespace: str) -> Iterator[list[str]]:
    """Mark each Job in `namespace` succeeded, as the Job controller and a kubelet would.

    Only the API server runs here, and helm waits for a hook Job (the migrations) to
    complete. Yields the names of the Jobs it completed.
    """
    completed: list[str] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def loop() -> None:
        jobs = api.resource("batch/v1", "Job")
        while not stop.is_set():
            try:
                for job in api.list(jobs, namespace=namespace):
                    if not job.get("status", {}).get("conditions"):
                        name = job["metadata"]["name"]
                        api.merge_patch(
                            jobs.path(namespace=namespace, name=name) + "/status",
                            {"status": _succeeded()},
                        )
                        completed.append(name)
            except Exception as error:
                errors.append(error)
                return
            stop.wait(0.3)

    thread = threading.Thread(target=loop, name="job-completer", daemon=True)
    thread.start()
    try:
        yield completed
    finally:
        stop.set()
        thread.join(timeout=10)
    if errors:
        raise errors[0]


def _succeeded() -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    condition = {"status": "True", "lastProbeTime": now, "lastTransitionTime": now}
    return {
        "startTime": now,
        "completionTime": now,
        "succeeded": 1,
        "active": 0,
        "ready": 0,
        "terminating": 0,
        "conditions": [
            {"type": "SuccessCriteriaMet", **condition},
            {"type": "Complete", **condition},
        ],
    }


def wait_for(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    still: Callable[[], object] | None = None,
) -> None:
    """Poll `check` until it holds; on time-out, fail saying what `still` reports."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            detail = f": {still()}" if still else ""
            raise AssertionError(f"{what}: not within {timeout:.0f}s{detail}")
        time.sleep(0.25)
