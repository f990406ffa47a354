"""Running journey-processor workers as processes, and reading back what they published.

Each test gets an application id of its own (its consumer group and changelog topics),
starts the group at the end of the journey topics, so it sees only the records the test
sends, and folds journey.dropoffs and journey.outcomes the way a consumer must: by
CloudEvents id, first occurrence wins (the faust engine's outputs are at least once, with
stable ids; the default engine's are exactly once, which `published` also counts).

Workers of the default engine are never restarted by the harness: a worker that exits
fails the test. Only the faust engine gets a supervisor (see its README).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from journey_cli.devstack.processes import free_port
from journey_platform.contracts import Contracts
from journey_platform.envelope import Event
from journey_platform.kafka import client_options
from journey_platform.settings import find_schemas_dir
from journey_processor.core.events import JourneyEvent
from journey_processor.core.outcomes import Happened, summarise
from journey_processor.core.rules.catalogue import load
from journey_processor.testing.oracle import evaluate
from tests.integration.kafka_helpers import header, read_all, start_at_end

CONTRACTS = Contracts.load(find_schemas_dir())
SOURCE_TOPICS = CONTRACTS.consumed_by("journey-processor")
OUTPUT_TOPICS = ("journey.dropoffs", "journey.outcomes")
# The generated logs the processor tests replay: how many journeys, from when.
FAULT_STEPS = ("armed", "reached", "release")  # processor_fault_point's files
JOURNEYS = int(os.environ.get("PROCESSOR_TEST_JOURNEYS", "2000"))
START = datetime(2024, 1, 1, tzinfo=UTC)
LIVENESS_SECONDS = 30


@asynccontextmanager
async def admin_client(kafka: str) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka, **client_options())
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


@dataclass
class Workers:
    """journey-processor workers of one application, each a process of its own."""

    kafka: str
    root: Path
    engine: str = "kafka"
    transaction_timeout: int = 10  # seconds; how soon a dead worker's transaction is aborted
    app_id: str = field(default_factory=lambda: f"processor-test-{uuid.uuid4().hex[:8]}")
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    metrics_ports: dict[str, int] = field(default_factory=dict)  # each worker's /metrics
    restarts: int = 0

    async def prepare(self) -> None:
        for topic in SOURCE_TOPICS:
            await start_at_end(self.kafka, self.app_id, topic)

    @property
    def supervised(self) -> bool:
        """faust workers exit (75) to be replaced, and can wedge: they get a supervisor."""
        return self.engine == "faust"

    def start(self, name: str, *, holdable: bool = False) -> None:
        """Start a worker; a `holdable` one can be held inside a transaction (`hold`)."""
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "PROCESSOR_APP_ID": self.app_id,
            "PROCESSOR_DATA_DIR": str(self.root / name),
            "PROCESSOR_STANDBY_REPLICAS": "0",
            "PROCESSOR_CLOCK_SECONDS": "0",  # the test drives the clock
            "PROCESSOR_WATCHDOG_SECONDS": "3",
            "PROCESSOR_WEDGED_AFTER_SECONDS": "20",
            "PROCESSOR_SESSION_TIMEOUT_SECONDS": "8",
            "PROCESSOR_ENGINE": self.engine,
            "PROCESSOR_INSTANCE_ID": name,
            "PROCESSOR_VALIDATE_OUTPUTS": "true",  # every output keeps its contract
            "PROCESSOR_TRANSACTION_TIMEOUT_SECONDS": str(self.transaction_timeout),
            "METRICS_PORT": str(self.metrics_ports.setdefault(name, free_port())),
            "LOG_LEVEL": os.environ.get("PROCESSOR_TEST_LOGLEVEL", "INFO").upper(),
            **{f"FAULT_{step.upper()}": str(self._fault_file(name, step)) for step in FAULT_STEPS},
        }
        module = "tests.integration.processor_fault_point" if holdable else "journey_processor"
        log = (self.root / f"{name}.log").open("ab")
        self.running[name] = subprocess.Popen(
            [sys.executable, "-m", module],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self, name: str) -> None:
        """SIGKILL: no goodbye, no commit, no flush."""
        worker = self.running.pop(name)
        worker.send_signal(signal.SIGKILL)
        worker.wait()

    def stop(self, name: str) -> None:
        """SIGTERM: a clean goodbye (the group rebalances at once)."""
        worker = self.running.pop(name)
        worker.terminate()
        assert worker.wait(timeout=60) == 0, self.log(name)

    def pause(self, name: str) -> None:
        """SIGSTOP: the worker freezes mid-whatever, as a long GC pause or a stalled node."""
        self.running[name].send_signal(signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self.running[name].send_signal(signal.SIGCONT)

    def _fault_file(self, name: str, step: str) -> Path:
        return self.root / f"{name}.fault-{step}"

    def hold(self, name: str) -> None:
        """Hold a holdable worker inside its next transaction (outputs produced, changelog
        records not yet, nothing committed) until `release`."""
        self._fault_file(name, "release").unlink(missing_ok=True)
        self._fault_file(name, "armed").touch()

    async def until_held(self, name: str, within: float) -> None:
        deadline = time.monotonic() + within
        while not self._fault_file(name, "reached").exists():
            self.assert_alive()
            assert time.monotonic() < deadline, f"worker {name} never began a transaction"
            await asyncio.sleep(0.05)

    def release(self, name: str) -> None:
        """Let a held worker go on with its transaction."""
        self._fault_file(name, "release").touch()

    def holds(self, name: str) -> list[int]:
        """The partitions a worker of the default engine was last assigned (its log)."""
        held: list[int] = []
        for line in self.log(name).splitlines():
            if '"partitions ' not in line or not line.startswith("{"):
                continue
            said = json.loads(line)
            if said.get("message") in ("partitions assigned", "partitions revoked"):
                held = said["partitions"]
        return held

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for worker in self.running.values():
            worker.terminate()
        for worker in self.running.values():
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        self.running.clear()

    def assert_alive(self) -> None:
        """Like a supervisor: a worker that exited to be replaced (75, wedged consumer) is
        restarted; any other exit fails the test."""
        for name, worker in list(self.running.items()):
            if worker.poll() is None:
                continue
            if worker.returncode == 75 and self.supervised:
                self.restarts += 1
                self.start(name)
                continue
            raise AssertionError(
                f"worker {name} exited {worker.returncode}:\n{self.log(name)[-3000:]}"
            )

    async def committed(
        self, admin: AIOKafkaAdminClient | None = None
    ) -> dict[TopicPartition, int]:
        """The group's committed offsets; through `admin` if given (a caller polling fast
        keeps one client rather than connecting anew each time)."""
        if admin is None:
            async with admin_client(self.kafka) as admin:
                return await self.committed(admin)
        offsets = await admin.list_consumer_group_offsets(self.app_id)
        return {tp: meta.offset for tp, meta in offsets.items() if tp.topic in SOURCE_TOPICS}

    async def wait_until_caught_up(self, ends: dict[TopicPartition, int], timeout: float) -> None:
        """Poll the group's committed offsets until they reach `ends` (both engines commit
        offsets only with, or after, what they published). Fails when no partition's
        offset has moved for `timeout` seconds: a wedge, not a slow machine (at a load
        average of 20 the faust engine needed more than 10 minutes for this log).

        For faust only, like a liveness probe on consumer lag: when any partition with work
        waiting has not moved its committed offset for `LIVENESS_SECONDS` (doubling after
        each restart, so a worker that starts slowly is not killed again before it has
        started), the workers are SIGKILLed and started again (faust-streaming can wedge
        after rebalances, sometimes on the partitions of one worker while the other's go
        on; a fresh consumer resumes from the committed offsets). Restarts are counted in
        `self.restarts`.
        """
        last: dict[TopicPartition, int] = {}
        moved_at: dict[TopicPartition, float] = {}
        any_moved_at = time.monotonic()
        while True:
            self.assert_alive()
            committed = await self.committed()
            behind = {tp: end - committed.get(tp, 0) for tp, end in ends.items()}
            if all(lag <= 0 for lag in behind.values()):
                return
            now = time.monotonic()
            for tp in ends:
                if committed.get(tp, 0) != last.get(tp):
                    last[tp], moved_at[tp], any_moved_at = committed.get(tp, 0), now, now
            if now - any_moved_at > timeout:
                raise AssertionError(f"processor stalled for {timeout:.0f} s, behind: {behind}")
            liveness = LIVENESS_SECONDS * 2 ** min(self.restarts, 4)
            stuck = [tp for tp, lag in behind.items() if lag > 0 and now - moved_at[tp] > liveness]
            if self.supervised and stuck:
                for name in list(self.running):
                    self.kill(name)
                    self.start(name)
                self.restarts += 1
                moved_at = dict.fromkeys(ends, time.monotonic())
            await asyncio.sleep(0.5)


Flag = tuple[str, str, datetime, datetime | None, str | None]


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class Published:
    """What the processor published, folded as a consumer folds it."""

    flags: dict[str, set[Flag]]  # journey -> final flags, retracted ones dropped
    outcomes: dict[str, Any]  # journey -> latest outcome
    repeats: int  # records whose CloudEvents id came before (none, when exactly once)


async def published(kafka: str, journeys: set[str], since: dict[TopicPartition, int]) -> Published:
    """The final flags and the latest outcome of each journey, from the committed records
    published after the `since` offsets (earlier runs used the same ids)."""
    seen: set[str] = set()
    repeats = 0
    latest_by_flag: dict[str, tuple[str, dict[str, Any]]] = {}
    for record in await read_all(kafka, "journey.dropoffs", since):
        journey, event_id = record.key.decode(), str(header(record, "ce_id"))
        if journey not in journeys:
            continue
        if event_id in seen:
            repeats += 1
            continue
        seen.add(event_id)
        data = json.loads(record.value)
        latest_by_flag[data["flag_id"]] = (journey, data)
    flags: dict[str, set[Flag]] = {}
    for journey, data in latest_by_flag.values():
        if data.get("resolution") == "retracted":
            continue
        flags.setdefault(journey, set()).add(
            (
                data["rule_id"],
                data["started_by"],
                _time(data["due_at"]),  # type: ignore[arg-type]
                _time(data.get("resolved_at")),
                data.get("resolution"),
            )
        )
    outcomes: dict[str, Any] = {}
    for record in await read_all(kafka, "journey.outcomes", since):
        journey, event_id = record.key.decode(), str(header(record, "ce_id"))
        if journey in journeys:
            repeats += event_id in seen
            seen.add(event_id)
            outcomes[journey] = json.loads(record.value)
    return Published(flags, outcomes, repeats)


def oracle(
    contracts: Contracts, events: list[Event], now: datetime
) -> tuple[dict[str, set[Flag]], dict[str, Any]]:
    """The batch oracle's flags and outcome for every journey of a log, as of `now`."""
    rules = load(contracts).values()
    by_journey: dict[str, dict[str, Event]] = defaultdict(dict)
    for event in events:
        by_journey[event.subject][event.id] = event
    flags, outcomes = {}, {}
    for journey, log in by_journey.items():
        found = evaluate(
            rules,
            [JourneyEvent(e.id, e.type, e.time, e.recorded_time, e.data) for e in log.values()],
            now,
        )
        flags[journey] = {
            (f.rule_id, f.started_by, f.due_at, f.resolved_at, f.resolution) for f in found
        }
        outcome = summarise(
            [Happened(e.id, e.type, e.time, e.data) for e in log.values()],
            [f.rule_id for f in found if f.open],
        )
        outcomes[journey] = outcome | {"flags_raised": len(found)}
    return flags, outcomes


def assert_matches_oracle(found: Published, events: list[Event], now: datetime) -> None:
    """Final flags and latest outcomes equal the oracle's for every journey of the log."""
    journeys = {e.subject for e in events}
    expected_flags, expected_outcomes = oracle(CONTRACTS, events, now)
    assert sum(len(f) for f in expected_flags.values()) > len(journeys), "the log raises flags"
    mismatched = [j for j in journeys if found.flags.get(j, set()) != expected_flags[j]]
    if mismatched:
        example = mismatched[0]
        published_only = sorted(found.flags.get(example, set()) - expected_flags[example])
        oracle_only = sorted(expected_flags[example] - found.flags.get(example, set()))
        raise AssertionError(
            f"{len(mismatched)} journeys differ, e.g. {example}: "
            f"published only {published_only}; oracle only {oracle_only}"
        )
    assert found.outcomes.keys() == journeys, "every journey has an outcome: no event lost"
    wrong = [j for j in journeys if found.outcomes[j] != expected_outcomes[j]]
    assert not wrong, f"{len(wrong)} outcomes differ, e.g. {found.outcomes[wrong[0]]}"
