"""Journey processor benchmark: throughput, state and latency, in one JSON object.

    uv run python bench/processor_throughput.py [--journeys 30000] [--engine kafka] ...

Needs the local stack (`make devstack-up`). In one run:

1. `core`: the core alone in this process, records/s (bench/processor_core.py), on up to
   1,000 journeys; an error instead where that measurement is not available;
2. `log`: the simulator's offline event log (`journey_simulator.eventlog`: about 31
   events a journey, so 30,000 journeys is some 940,000 events), sent to the journey
   topics in recorded order with a clock tick per partition every simulated day;
3. `plain_loop`: a bare aiokafka consumer that reads and decodes every record of it
   (envelope and contract checks included) and does nothing else: the ceiling;
4. `one_worker`, then `two_workers`: `python -m journey_processor` processes from a
   standing start (fresh consumer group at the log's start, fresh data dirs) until
   their committed offsets reach its end. `startup_s` runs to the first committed
   progress, `time_to_drain_s` to the end; `records_per_s` is per worker, over the time
   in between; `records_per_cpu_s` is records per CPU second the workers spent over that
   time, and the plain loop's the same for its process; their ratio,
   `cpu_share_of_plain_loop`, moves far less with a busy machine than
   `share_of_plain_loop` (rates) does; `peak_rss_mib` is each worker's VmHWM;
5. `state`: after the one-worker run, the mean and p95 size of the latest record of each
   of the log's journeys in `<app id>-journeys-changelog` (null where the engine has no
   such topic), and the worker's data dir on disk;
6. `latency`: a Duty to Notify report's 201 to its drop-off flag on journey.dropoffs,
   on a live referral service and worker, and on to the police force's webhook through
   the flags service (bench/processor_latency.py).

Every process's log is kept in `.devstack/bench/processor-<run id>/` (`logs` in the
JSON); a worker that exits or stalls ends the run with an error naming its log (the
JSON then holds what was measured so far, and the exit status is 1). State dirs and the
run's changelog topics are removed after a successful run unless --keep-state. It
reports; it does not judge the machine (`targets` are there to read against).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import secrets
import shutil
import signal
import sys
import time
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# The integration tests' Kafka and token helpers are reused: when this runs as a script,
# the project root must be importable for `tests.integration`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from journey_cli.devstack import Stack
from journey_platform.contracts import Contracts
from journey_platform.envelope import decode
from journey_platform.kafka import client_options, ensure_topics, start_producer
from journey_platform.settings import find_schemas_dir
from journey_processor.testing.replay import replay_order, send
from journey_simulator.eventlog import generate
from processor_latency import LatencyRun, measure_latency
from processor_state import journey_state
from processor_workers import SOURCE_TOPICS, Drain, Log, Processes, ProcessFailed, drain
from tests.integration.kafka_helpers import end_offsets

START = datetime(2024, 1, 1, tzinfo=UTC)
CORE_JOURNEYS = 1000  # the core alone needs no more to reach a steady rate
TARGETS = {
    "core_records_per_s": 20_000,
    "share_of_plain_loop": 0.333,
    "million_events_two_workers_s": 240,
    "state_bytes_per_journey": 2048,
    "latency_p99_ms": 1000,
    "webhook_p99_ms": 2000,  # the flags service's webhook, after the same 201
}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--journeys", type=int, default=30_000, help="in the log (30000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine", choices=("kafka", "faust"), default="kafka")
    parser.add_argument("--tick-every-hours", type=float, default=24, help="replay clock (24)")
    parser.add_argument(
        "--stall-minutes", type=float, default=3, help="no progress this long fails a run (3)"
    )
    parser.add_argument("--skip-two-workers", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument(
        "--latency-only", action="store_true", help="no log, no throughput: latency alone"
    )
    parser.add_argument("--latency-reports", type=int, default=200)
    parser.add_argument("--latency-concurrency", type=int, default=4, help="clients (4)")
    parser.add_argument(
        "--latency-deadline", type=float, default=30, help="s after the last 201 (30)"
    )
    parser.add_argument(
        "--keep-state", action="store_true", help="keep data dirs and changelog topics"
    )
    return parser.parse_args()


def measure_core_or_error(journeys: int, seed: int) -> dict[str, Any]:
    """The core alone; its module may be a placeholder, which the report says instead."""
    try:
        from processor_core import measure_core

        return measure_core(journeys, seed)
    except (ImportError, NotImplementedError) as error:
        return {"error": f"{type(error).__name__}: {error}"}


async def replay_log(
    kafka: str, contracts: Contracts, args: argparse.Namespace
) -> tuple[Log, dict[str, Any]]:
    """Generate the log, send it in recorded order with its ticks; where it lies, and
    what it holds."""
    began = time.perf_counter()
    events = generate(args.journeys, seed=args.seed, start=START, contracts=contracts)
    items, _ = replay_order(
        events,
        every=timedelta(hours=args.tick_every_hours),
        partitions=contracts.journey_partitions,
    )
    generated = time.perf_counter()
    start = await end_offsets(kafka, SOURCE_TOPICS)
    producer = await start_producer(kafka, "bench-journey-processor")
    try:
        await send(producer, contracts, items)
    finally:
        await producer.stop()
    end = await end_offsets(kafka, SOURCE_TOPICS)
    journeys = frozenset(e.subject.encode() for e in events)
    figures = {
        "journeys": len(journeys),
        "events": len(events),
        "ticks": len(items) - len(events),
        "generate_s": round(generated - began, 1),
        "send_s": round(time.perf_counter() - generated, 1),
    }
    del events, items
    gc.collect()  # the log is on Kafka now: its memory is better left to the workers
    return Log(start, end, journeys), figures


async def plain_loop(kafka: str, contracts: Contracts, log: Log) -> dict[str, Any]:
    """Read and decode every record of the log: the ceiling for any processor."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka, enable_auto_commit=False, **client_options()
    )
    await consumer.start()
    try:
        consumer.assign(list(log.start))
        for tp, offset in log.start.items():
            consumer.seek(tp, offset)
        remaining = {tp for tp in log.start if log.end[tp] > log.start[tp]}
        records = 0
        began, cpu_began = time.perf_counter(), time.process_time()
        while remaining:
            batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            for tp, batch in batches.items():
                for record in batch:
                    if record.offset >= log.end[tp]:
                        continue
                    decode(
                        topic=record.topic,
                        key=record.key,
                        value=record.value,
                        headers=record.headers,
                        contracts=contracts,
                    )
                    records += 1
                if await consumer.position(tp) >= log.end[tp]:
                    remaining.discard(tp)
        seconds = time.perf_counter() - began
        cpu = time.process_time() - cpu_began
    finally:
        await consumer.stop()
    return {
        "records": records,
        "seconds": round(seconds, 2),
        "records_per_s": round(records / seconds),
        "records_per_cpu_s": round(records / cpu) if cpu > 0 else None,
    }


async def throughput(
    args: argparse.Namespace, kafka: str, run_id: str, processes: Processes, report: dict[str, Any]
) -> None:
    """Log, ceiling, one worker and its state, two workers: into `report` as measured."""
    contracts = Contracts.load(find_schemas_dir())
    await ensure_topics(kafka, contracts)
    log, report["log"] = await replay_log(kafka, contracts, args)
    report["plain_loop"] = ceiling = await plain_loop(kafka, contracts, log)
    one = _drain_run(args, kafka, run_id, processes, workers=1)
    report["one_worker"] = alone = await drain(processes, one, log)
    report["state"] = await journey_state(kafka, one.app_id, one.state, log.journeys)
    report["per_worker_records_per_s"] = alone["records_per_s"]
    report["share_of_plain_loop"] = round(alone["records_per_s"] / ceiling["records_per_s"], 3)
    # The same ratio in CPU seconds: what a record costs the worker against the loop,
    # which a busy machine moves far less than it moves rates.
    if alone["records_per_cpu_s"] and ceiling["records_per_cpu_s"]:
        report["cpu_share_of_plain_loop"] = round(
            alone["records_per_cpu_s"] / ceiling["records_per_cpu_s"], 3
        )
    if args.skip_two_workers:
        return
    both = await drain(processes, _drain_run(args, kafka, run_id, processes, workers=2), log)
    both["million_events_s_projected"] = round(
        both["startup_s"] + 1_000_000 / (2 * both["records_per_s"])
    )
    report["two_workers"] = both
    report["two_workers_speedup"] = round(2 * both["records_per_s"] / alone["records_per_s"], 2)


def _drain_run(
    args: argparse.Namespace, kafka: str, run_id: str, processes: Processes, *, workers: int
) -> Drain:
    name = {1: "one", 2: "two"}[workers]
    return Drain(
        kafka=kafka,
        engine=args.engine,
        name=name,
        app_id=f"bench-processor-{run_id}-{name}",
        workers=workers,
        state=processes.logs / "state" / name,
        stall_seconds=args.stall_minutes * 60,
    )


async def run(
    args: argparse.Namespace, run_id: str, processes: Processes, report: dict[str, Any]
) -> None:
    stack = Stack.from_environment()
    kafka = stack.bootstrap_servers
    if not args.latency_only:
        report["core"] = measure_core_or_error(min(args.journeys, CORE_JOURNEYS), args.seed)
        await throughput(args, kafka, run_id, processes, report)
    if not args.skip_latency:
        latency = LatencyRun(
            kafka=kafka,
            database_url=stack.database_url,
            engine=args.engine,
            app_id=f"bench-processor-{run_id}-latency",
            state=processes.logs / "state" / "latency",
            auth=processes.logs / "auth",
            reports=args.latency_reports,
            concurrency=args.latency_concurrency,
            deadline_seconds=args.latency_deadline,
        )
        report["latency"] = await measure_latency(processes, latency)
    if not args.keep_state:
        await _remove_state(kafka, run_id, processes.logs / "state")


async def _remove_state(kafka: str, run_id: str, state: Path) -> None:
    """The run's data dirs and topics (changelogs, faust's own), which nothing reads again:
    a million-event run leaves gigabytes on a broker that other work shares."""
    shutil.rmtree(state, ignore_errors=True)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka, **client_options())
    await admin.start()
    try:
        ours = [t for t in await admin.list_topics() if t.startswith(f"bench-processor-{run_id}-")]
        if ours:
            await admin.delete_topics(ours)
    finally:
        await admin.close()


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # so that the processes started are stopped on the way out


def main() -> int:
    args = _arguments()
    run_id = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    logs = Stack.from_environment().root / "bench" / f"processor-{run_id}"
    logs.mkdir(parents=True)
    processes = Processes(logs)
    machine = {"cpus": os.cpu_count(), "load_average_at_start": list(os.getloadavg())}
    report: dict[str, Any] = {"engine": args.engine, "logs": str(logs)}
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        asyncio.run(run(args, run_id, processes, report))
    except ProcessFailed as failure:
        report["error"] = str(failure)
        print(f"bench broken: {failure}", file=sys.stderr)
    except Exception as error:  # the figures measured so far are still worth printing
        report["error"] = f"{type(error).__name__}: {error}"
        traceback.print_exc()
    finally:
        processes.stop()
    print(json.dumps({**report, "targets": TARGETS, "machine": machine}, indent=2))
    return 1 if "error" in report else 0


if __name__ == "__main__":
    sys.exit(main())
