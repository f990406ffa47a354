"""Journey processor throughput: replay a generated log through one worker, print JSON.

    uv run python bench/journey_processor.py [--journeys 30000] [--seed 1]

Needs the local stack (`make devstack-up`). Generates a synthetic log (about 33 events a
journey, so 30,000 journeys is about a million events), sends it to the journey topics in
recorded order with a clock tick per partition every simulated day, then measures, on
those same records:

- `plain_loop`: a bare aiokafka consumer that reads and decodes every record (envelope
  and contract checks included) and does nothing else: the ceiling for any processor;
- `processor`: one journey-processor worker (faust, RocksDB store) from a standing start
  until its committed offsets reach the end of the log: events/s, time to drain, peak
  memory (VmHWM) and state on disk.

Targets on a 2-core machine: at least 5,000 events/s per worker and at least a third of
the plain loop's rate. The script reports; it does not judge the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from journey.processor import CLOCK_TOPIC, JOURNEY_TOPICS
from journey.replay import replay_order, send
from journey.synthetic import generate
from journey_platform.contracts import Contracts
from journey_platform.envelope import decode
from journey_platform.kafka import ensure_topics, start_producer
from journey_platform.settings import find_schemas_dir

SOURCE_TOPICS = (*JOURNEY_TOPICS, CLOCK_TOPIC)
START = datetime(2024, 1, 1, tzinfo=UTC)


def _partitions(contracts: Contracts) -> list[TopicPartition]:
    return [
        TopicPartition(topic, p)
        for topic in SOURCE_TOPICS
        for p in range(contracts.topics[topic].partitions)
    ]


async def _end_offsets(kafka: str, contracts: Contracts) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(_partitions(contracts)))
    finally:
        await consumer.stop()


async def plain_loop(
    kafka: str,
    contracts: Contracts,
    start: dict[TopicPartition, int],
    end: dict[TopicPartition, int],
) -> dict[str, Any]:
    """Read and decode every record between `start` and `end`: the ceiling."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(start))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        remaining = {tp for tp in start if end[tp] > start[tp]}
        records = 0
        began = time.perf_counter()
        while remaining:
            batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            for tp, batch in batches.items():
                for record in batch:
                    if record.offset >= end[tp]:
                        continue
                    decode(
                        topic=record.topic,
                        key=record.key,
                        value=record.value,
                        headers=record.headers,
                        contracts=contracts,
                    )
                    records += 1
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
        seconds = time.perf_counter() - began
    finally:
        await consumer.stop()
    return {
        "records": records,
        "seconds": round(seconds, 2),
        "records_per_s": round(records / seconds),
    }


def _peak_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _disk_mib(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1)


async def _committed(kafka: str, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in offsets.items()}


async def _start_group_at(kafka: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


def _spawn_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "journey.app", "worker", "--loglevel", "warn"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


async def processor(
    kafka: str, start: dict[TopicPartition, int], end: dict[TopicPartition, int], workdir: Path
) -> dict[str, Any]:
    """One worker from a standing start until it has committed the whole log."""
    group = f"bench-processor-{uuid.uuid4().hex[:8]}"
    await _start_group_at(kafka, group, start)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "PROCESSOR_APP_ID": group,
        "PROCESSOR_DATA_DIR": str(workdir / "state"),
        "PROCESSOR_STANDBY_REPLICAS": "0",
        "PROCESSOR_CLOCK_SECONDS": "0",  # the replay carries its own clock
        "LOG_LEVEL": "WARNING",
    }
    began = time.perf_counter()
    worker = _spawn_worker(env, workdir / "worker.log")
    first_progress = None
    peak = None
    try:
        while True:
            await asyncio.sleep(1)
            if worker.poll() is not None:
                raise RuntimeError(f"worker exited {worker.returncode}; see {workdir}/worker.log")
            peak = _peak_rss_mib(worker.pid) or peak
            committed = await _committed(kafka, group)
            done = sum(max(0, committed.get(tp, start[tp]) - start[tp]) for tp in start)
            if done and first_progress is None:
                first_progress = time.perf_counter()
            if all(committed.get(tp, 0) >= end[tp] for tp in end):
                break
        drained = time.perf_counter()
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
    records = sum(end[tp] - start[tp] for tp in start)
    processing = drained - (first_progress or began)
    return {
        "records": records,
        "time_to_drain_s": round(drained - began, 1),
        "startup_s": round((first_progress or began) - began, 1),
        "records_per_s": round(records / processing),
        "peak_rss_mib": peak,
        "state_on_disk_mib": _disk_mib(workdir / "state"),
    }


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--journeys", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tick-every-hours", type=float, default=24)
    return parser.parse_args()


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    contracts = Contracts.load(find_schemas_dir())
    await ensure_topics(kafka, contracts)
    began = time.perf_counter()
    events = generate(args.journeys, seed=args.seed, start=START, contracts=contracts)
    items, _ = replay_order(
        events,
        every=timedelta(hours=args.tick_every_hours),
        partitions=contracts.journey_partitions,
    )
    generated = time.perf_counter()
    start = await _end_offsets(kafka, contracts)
    producer = await start_producer(kafka, "bench-journey-processor")
    try:
        await send(producer, contracts, items)
    finally:
        await producer.stop()
    end = await _end_offsets(kafka, contracts)
    sent = time.perf_counter()
    ceiling = await plain_loop(kafka, contracts, start, end)
    measured = await processor(kafka, start, end, workdir)
    journeys = len({e.subject for e in events})
    return {
        "log": {
            "journeys": journeys,
            "events": len(events),
            "ticks": len(items) - len(events),
            "generate_s": round(generated - began, 1),
            "send_s": round(sent - generated, 1),
        },
        "plain_loop": ceiling,
        "processor": measured,
        "per_worker_events_per_s": measured["records_per_s"],
        "share_of_plain_loop": round(measured["records_per_s"] / ceiling["records_per_s"], 3),
        "peak_rss_mib_per_100k_journeys": (
            round(measured["peak_rss_mib"] * 100_000 / journeys, 1)
            if measured["peak_rss_mib"]
            else None
        ),
        "targets": {"events_per_s_per_worker": 5000, "share_of_plain_loop": 0.333},
    }


def main() -> int:
    args = _arguments()
    with tempfile.TemporaryDirectory(prefix="bench-processor-") as workdir:
        report = asyncio.run(run(args, Path(workdir)))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
