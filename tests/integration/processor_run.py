"""Running journey-processor workers as processes, and reading back what they published.

Each test gets an application id of its own (its consumer group and changelog topics),
starts the group at the end of the journey topics, so it sees only the records the test
sends, and folds journey.dropoffs and journey.outcomes the way a consumer must: by
CloudEvents id, first occurrence wins (outputs are at least once, with stable ids).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from journey.processor import CLOCK_TOPIC, JOURNEY_TOPICS
from tests.integration.kafka_helpers import header, read_all, start_at_end

SOURCE_TOPICS = (*JOURNEY_TOPICS, CLOCK_TOPIC)
LOG_LEVEL = os.environ.get("PROCESSOR_TEST_LOGLEVEL", "warn")  # info when debugging
LIVENESS_SECONDS = 30


@dataclass
class Workers:
    """journey-processor workers of one application, each a process of its own."""

    kafka: str
    root: Path
    app_id: str = field(default_factory=lambda: f"processor-test-{uuid.uuid4().hex[:8]}")
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    restarts: int = 0

    async def prepare(self) -> None:
        for topic in SOURCE_TOPICS:
            await start_at_end(self.kafka, self.app_id, topic)

    def start(self, name: str) -> None:
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
            "PROCESSOR_WORKER_PORT": str(free_port()),
            "LOG_LEVEL": "WARNING",
        }
        log = (self.root / f"{name}.log").open("ab")
        self.running[name] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "journey.app",
                "worker",
                "--loglevel",
                os.environ.get("PROCESSOR_TEST_LOGLEVEL", "warn"),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self, name: str) -> None:
        """SIGKILL: no goodbye, no commit, no flush."""
        worker = self.running.pop(name)
        worker.send_signal(signal.SIGKILL)
        worker.wait()

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
            if worker.returncode == 75:
                self.restarts += 1
                self.start(name)
                continue
            log = (self.root / f"{name}.log").read_text(errors="replace")[-3000:]
            raise AssertionError(f"worker {name} exited {worker.returncode}:\n{log}")

    async def committed(self) -> dict[TopicPartition, int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(self.app_id)
        finally:
            await admin.close()
        return {tp: meta.offset for tp, meta in offsets.items() if tp.topic in SOURCE_TOPICS}

    async def wait_until_caught_up(self, ends: dict[TopicPartition, int], timeout: float) -> None:
        """Poll the group's committed offsets until they reach `ends` (faust commits only
        after flushing what it published).

        Like a liveness probe on consumer lag: when the committed offsets stand still for
        `LIVENESS_SECONDS` with work waiting, the workers are SIGKILLed and started again
        (faust-streaming can wedge after rebalances; a fresh consumer resumes from the
        committed offsets). Restarts are counted in `self.restarts`.
        """
        deadline = time.monotonic() + timeout
        last, moved_at = -1, time.monotonic()
        while True:
            self.assert_alive()
            committed = await self.committed()
            behind = {tp: end - committed.get(tp, 0) for tp, end in ends.items()}
            if all(lag <= 0 for lag in behind.values()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"processor still behind: {behind}")
            progress = sum(committed.values())
            if progress != last:
                last, moved_at = progress, time.monotonic()
            elif time.monotonic() - moved_at > LIVENESS_SECONDS:
                for name in list(self.running):
                    self.kill(name)
                    self.start(name)
                self.restarts += 1
                moved_at = time.monotonic()
            await asyncio.sleep(0.5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


Flag = tuple[str, str, datetime, datetime | None, str | None]


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


async def published(
    kafka: str, journeys: set[str], since: dict[TopicPartition, int]
) -> tuple[dict[str, set[Flag]], dict[str, Any]]:
    """The final flags (retracted ones dropped) and the latest outcome of each journey,
    from what was published after the `since` offsets (earlier runs used the same ids)."""
    seen: set[str] = set()
    latest_by_flag: dict[str, tuple[str, dict[str, Any]]] = {}
    for record in await read_all(kafka, "journey.dropoffs", since):
        journey, event_id = record.key.decode(), header(record, "ce_id")
        if journey not in journeys or event_id in seen:
            continue
        seen.add(str(event_id))
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
        journey = record.key.decode()
        if journey in journeys:
            outcomes[journey] = json.loads(record.value)
    return flags, outcomes
