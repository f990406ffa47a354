"""Journey-processor workers for the benchmark: started as processes, timed until drained.

Every process the benchmark starts (workers, the referral service) goes through
`Processes`, which gives it a log file in the run's directory (kept after the run, so a
failure can name it) and stops it at the end whatever happened.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from journey_platform.contracts import Contracts
from journey_platform.kafka import client_options
from journey_platform.settings import find_schemas_dir
from tests.integration.kafka_helpers import start_group_at

ROOT = find_schemas_dir().parent
SOURCE_TOPICS = Contracts.load(find_schemas_dir()).consumed_by("journey-processor")
# The exit status asking a supervisor for a fresh worker (the faust engine's WEDGED_EXIT,
# not imported: that would load faust into this process).
WEDGED = 75
POLL_SECONDS = 0.5  # how often committed offsets are read: the drain time's resolution


class ProcessFailed(RuntimeError):
    """A process the benchmark started exited or stalled: the run is broken, not slow."""


@dataclass
class Processes:
    """The processes of one run, each logging to `<logs>/<name>.log`."""

    logs: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    commands: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def start(self, name: str, module: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        self.commands[name] = (module, env)
        with self.log(name).open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - our own modules
                [sys.executable, "-m", module],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        self.running[name] = process
        return process

    def replace_wedged(self, *names: str) -> int:
        """Start again, as a supervisor would, those that exited to be replaced (status 75:
        a faust consumer wedged, or skipped records a fresh one will read); how many."""
        wedged = [name for name in names if self.running[name].poll() == WEDGED]
        for name in wedged:
            self.start(name, *self.commands[name])
        return len(wedged)

    def check(self, *names: str) -> None:
        """Raise ProcessFailed, naming its log, if one of these processes has exited."""
        for name in names:
            status = self.running[name].poll()
            if status is not None:
                raise ProcessFailed(f"{name} exited with status {status}; see {self.log(name)}")

    def stop(self, *names: str, within: float = 60) -> dict[str, int]:
        """SIGTERM (workers commit and leave the group, services drain their outboxes),
        SIGKILL after `within` seconds; every process if no name is given."""
        chosen = {n: p for n, p in self.running.items() if not names or n in names}
        for process in chosen.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + within
        for process in chosen.values():
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for name in chosen:
            del self.running[name]
        return {name: process.returncode for name, process in chosen.items()}


def worker_environment(
    kafka: str, *, engine: str, app_id: str, instance: str, data_dir: Path, clock_seconds: float
) -> dict[str, str]:
    data_dir.mkdir(parents=True, exist_ok=True)  # faust creates the last level only
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "PROCESSOR_ENGINE": engine,
        "PROCESSOR_APP_ID": app_id,
        "PROCESSOR_INSTANCE_ID": instance,  # kafka engine: its transactional id
        "PROCESSOR_DATA_DIR": str(data_dir),
        "PROCESSOR_CLOCK_SECONDS": str(clock_seconds),
        # faust: warm copies would make each worker process every partition twice.
        "PROCESSOR_STANDBY_REPLICAS": "0",
        "LOG_LEVEL": "WARNING",
    }


def peak_rss_mib(pid: int) -> float | None:
    """The process's peak resident memory (VmHWM) so far."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """The process's CPU time so far (user + system), from /proc: what it cost, whatever
    else the machine was doing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def disk_bytes(path: Path) -> int:
    """Bytes in the files under `path` (0 if it does not exist)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def nearest_rank(ordered: Sequence[float], q: float) -> float | None:
    """The q-quantile of sorted values by nearest rank (None for no values)."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else None


@dataclass(frozen=True)
class Log:
    """The replayed records: from `start` (inclusive) to `end` on every source partition,
    and the journeys they follow (their ids as record keys)."""

    start: dict[TopicPartition, int]
    end: dict[TopicPartition, int]
    journeys: frozenset[bytes]

    @property
    def records(self) -> int:
        return sum(self.end[tp] - self.start[tp] for tp in self.start)

    def done(self, committed: dict[TopicPartition, int]) -> int:
        return sum(
            min(self.end[tp], max(committed.get(tp, 0), self.start[tp])) - self.start[tp]
            for tp in self.start
        )


@dataclass(frozen=True)
class Drain:
    """One measured run: `workers` fresh workers of a fresh group, from a standing start."""

    kafka: str
    engine: str
    name: str  # of the run, and the prefix of its workers' names and logs
    app_id: str
    workers: int
    state: Path  # a data directory per worker below it
    stall_seconds: float

    def names(self) -> list[str]:
        return [f"{self.name}-w{n}" for n in range(1, self.workers + 1)]


async def drain(processes: Processes, run: Drain, log: Log) -> dict[str, Any]:
    """Start the workers with their group at the log's start; time them until their
    committed offsets reach its end. Figures per worker are the total shared out."""
    await start_group_at(run.kafka, run.app_id, log.start)
    began = time.monotonic()
    for name in run.names():
        env = worker_environment(
            run.kafka,
            engine=run.engine,
            app_id=run.app_id,
            instance=name,
            data_dir=run.state / name,
            clock_seconds=0,  # the replay carries its own ticks
        )
        processes.start(name, "journey_processor", env)
    watch = Watch()
    try:
        await _wait_drained(processes, run, log, watch)
        drained = time.monotonic()
    finally:
        statuses = processes.stop(*run.names())
    first_progress = watch.first_progress or drained
    # No finer than the polls: a tiny log may be drained by the first commit seen.
    processing = max(drained - first_progress, POLL_SECONDS)
    return {
        "workers": run.workers,
        "records": log.records,
        "startup_s": round(first_progress - began, 1),
        "time_to_drain_s": round(drained - began, 1),
        "processing_s": round(processing, 1),
        "records_per_s": round(log.records / processing / run.workers),
        "records_per_cpu_s": watch.records_per_cpu_s(log.records),
        "peak_rss_mib": [watch.peaks.get(name) for name in run.names()],
        "restarts": watch.restarts,
        "exit_statuses": list(statuses.values()),
    }


@dataclass
class Watch:
    """What is seen while waiting for a drain."""

    first_progress: float | None = None  # when committed offsets first moved
    done_at_first_progress = 0  # records committed by then
    # worker -> its CPU seconds when offsets first moved, and at the last look: the CPU
    # the processing cost, start-up and restore left out (a single life: no restarts).
    cpu: dict[str, tuple[float, float]] = field(default_factory=dict)
    peaks: dict[str, float] = field(default_factory=dict)  # worker -> peak RSS, MiB
    restarts: int = 0  # workers that exited to be replaced, and were

    def sample_memory(self, processes: Processes, names: list[str]) -> None:
        """VmHWM is gone once a process exits: read it while it runs; across restarts,
        the highest of a worker's lives."""
        for name in names:
            peak = peak_rss_mib(processes.running[name].pid)
            if peak is not None:
                self.peaks[name] = max(peak, self.peaks.get(name, 0.0))

    def sample_cpu(self, processes: Processes, names: list[str]) -> None:
        for name in names:
            used = cpu_seconds(processes.running[name].pid)
            if used is not None:
                first = self.cpu.get(name, (used, used))[0]
                self.cpu[name] = (first, used)

    def records_per_cpu_s(self, records: int) -> int | None:
        """Records processed after the first commit, per CPU second the workers spent."""
        spent = sum(last - first for first, last in self.cpu.values())
        done = records - self.done_at_first_progress
        return round(done / spent) if spent > 0 and not self.restarts else None


async def _wait_drained(processes: Processes, run: Drain, log: Log, watch: Watch) -> None:
    """Poll the group's committed offsets until they reach the end of the log. Raise
    ProcessFailed when a worker exits (other than to be replaced) or nothing moves for
    `stall_seconds`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=run.kafka, **client_options())
    await admin.start()
    done, moved_at = 0, time.monotonic()
    try:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            watch.restarts += processes.replace_wedged(*run.names())
            processes.check(*run.names())
            watch.sample_memory(processes, run.names())
            committed = await _committed(admin, run.app_id, list(log.end))
            now, progress = time.monotonic(), log.done(committed)
            if progress > done:
                if watch.first_progress is None:
                    watch.first_progress, watch.done_at_first_progress = now, progress
                done, moved_at = progress, now
            if watch.first_progress is not None:
                watch.sample_cpu(processes, run.names())
            if progress >= log.records:
                return
            if now - moved_at > run.stall_seconds:
                logs = ", ".join(str(processes.log(n)) for n in run.names())
                raise ProcessFailed(
                    f"no progress for {run.stall_seconds:.0f} s at {done} of {log.records} "
                    f"records; see {logs}"
                )
    finally:
        await admin.close()


async def _committed(
    admin: AIOKafkaAdminClient, group: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    offsets = await admin.list_consumer_group_offsets(group, partitions=partitions)
    return {tp: meta.offset for tp, meta in offsets.items() if meta is not None}
