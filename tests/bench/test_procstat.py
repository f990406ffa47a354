"""The benchmarks' CPU accounting (bench/procstat.py): cores by process group."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "procstat", Path(__file__).resolve().parents[2] / "bench" / "procstat.py"
)
assert _spec is not None and _spec.loader is not None
procstat = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(procstat)


def test_a_process_that_exits_mid_phase_takes_away_only_its_own_time() -> None:
    # Two Kafka brokers; the second (another stack's) exits during the phase, having used
    # 50 s before it. Summed per group, kafka would have gone from 60 s to 12 s: negative.
    before = {("kafka", 10, 1): 10.0, ("kafka", 20, 1): 50.0, "machine_busy": 100.0}
    after = {("kafka", 10, 1): 12.0, "machine_busy": 110.0}
    report = procstat.cpu_report(before, after, wall=10.0)
    assert report["kafka_cores"] == 0.2
    assert report["other_cores"] == 0.8


def test_a_reused_pid_is_another_process() -> None:
    # pid 30 exits and a new process gets it: its time counts whole, not less the old one's.
    before = {("postgres", 30, 1): 40.0, "machine_busy": 0.0}
    after = {("postgres", 30, 900): 3.0, "machine_busy": 10.0}
    assert procstat.cpu_report(before, after, wall=10.0)["postgres_cores"] == 0.3


def test_the_service_kernel_share_is_of_the_service_time() -> None:
    before = {("service", 7, 1): 1.0, ("service_kernel", 7, 1): 0.5, "machine_busy": 0.0}
    after = {("service", 7, 1): 5.0, ("service_kernel", 7, 1): 1.5, "machine_busy": 8.0}
    report = procstat.cpu_report(before, after, wall=4.0)
    assert report["service_cores"] == 1.0
    assert report["service_kernel_share"] == 0.25
