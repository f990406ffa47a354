"""`journey run`, the main job, end to end: a small cohort through the whole system.

It runs as `make run` does, on a stack of its own (its own folder and ports, started from
empty), and stops after the report. The report must find every drop-off the simulator
injected and nothing else.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import subprocess
import sys

import pytest

from journey_platform.settings import find_schemas_dir
from tests.integration.services import free_port

pytestmark = pytest.mark.integration


def kafka_port() -> int:
    """A broker port whose neighbour (the KRaft controller's) is free too, below the
    ephemeral range, where an outgoing connection cannot take it in the meantime."""
    ports = list(range(21000, 32000, 2))
    random.shuffle(ports)
    for port in ports:
        if all(_free(p) for p in (port, port + 1)):
            return port
    raise AssertionError("no two free ports next to each other")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


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

    recall = re.search(r"recall\s+([\d.]+)%\s+\((\d+) of (\d+) injected found\)", output)
    precision = re.search(r"precision\s+([\d.]+)%\s+\((\d+) flagged", output)
    assert recall and precision, output[-4000:]
    assert int(recall.group(3)) > 0, "the cohort injected no drop-offs"
    assert recall.group(1) == "100.0" and precision.group(1) == "100.0", output[-4000:]
    assert precision.group(2) == "0"

    # The report shows the funnel and the charts, and the dashboard's address.
    assert "Referral" in output
    charts = folder / "charts"
    assert {p.suffix for p in charts.iterdir()} >= {".png", ".svg"}, output[-2000:]
    assert "/dashboard#token=" in output
    # Shut down cleanly: nothing left listening on the services' ports.
    assert "stopping..." in output
