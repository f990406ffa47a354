"""Referral write throughput and latency, on the real Kafka and PostgreSQL.

    uv run --frozen python bench/referral_writes.py [--clients 32] [--duration 20] ...

What it does, in one run:

1. starts the referral service as its own process, the way production runs it
   (`python -m referral`: uvicorn, one worker, uvloop and httptools, uvicorn's access log
   off), on a fresh database of its own, with a temporary signing key; waits for /readyz.
   `--processes N` starts N, each on its own port, as N replicas behind a load balancer
   (the clients are split evenly among them; the ceiling gets N processes too);
2. baseline: N concurrent clients GET /livez (the framework ceiling: middleware, routing,
   JSON), so the write numbers can be read relative to it;
3. ceiling: the same clients POST the same bodies to `bench/write_ceiling.py`, a minimal
   FastAPI + asyncpg endpoint doing one INSERT, served the same way, in its own process
   (the referral service idles meanwhile): the most a write can do on this machine now;
4. writes: N concurrent clients POST /v1/referrals, each with a unique Idempotency-Key
   and a unique, obviously synthetic person; a short warm-up is not measured;
5. waits (with a deadline) until every accepted referral's event is in the outbox with
   `sent_at` set: a write that was not published does not count;
6. prints one JSON object (writes, ceiling and their ratio), stops the service with
   SIGTERM and drops its database.

The load generator is this process (the service is another; this one is otherwise idle
during the load). It runs on uvloop with aiohttp, one session and keep-alive connection
per simulated client: aiohttp costs several times less CPU per request than httpx, which
matters because the generator competes for the same cores as the service, PostgreSQL and
Kafka. The `cpu` figures say which process used what. It reports, never fails on slowness:
the exit status is 0 unless the run itself broke (service did not start or died, no
write accepted).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import platform
import secrets
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from journey_api.agencies import AgencyRegistry
from journey_api.tokens import DevelopmentSigner
from journey_cli.devstack import Stack
from journey_platform.db import ensure_database
from journey_platform.settings import find_schemas_dir
from nrm_domain.agencies import FIRST_RESPONDERS
from procstat import Key, cpu_report, cpu_snapshot
from referral.testing import referral_body as generated_referral
from referral.testing import synthetic_person
from service_processes import (
    ServiceFailed,
    drop_database,
    start_all,
    with_database,
)

ROOT = find_schemas_dir().parent
# Issue 15's targets on 2 cores: 1,000 writes/s or 60% of the ceiling, whichever is lower.
TARGET_WRITES_PER_S = 1000
TARGET_SHARE_OF_CEILING = 0.6
TARGET_P99_MS = 50
TARGET_SERVICE_CPU_MS_PER_WRITE = 1.5


# -- synthetic people (referral.testing, as the integration tests make them) -----------------

_serial = count()


def referral_body(occurred_at: str) -> dict[str, Any]:
    """A referral of a new generated person, unique in this run (a serial number, not only
    randomness)."""
    person = synthetic_person(f"{secrets.token_hex(3)}{next(_serial):x}", given="Benchgiven")
    return generated_referral(person, occurred_at)


# -- the load ----------------------------------------------------------------------------------


@dataclass
class Phase:
    """What one phase measured (warm-up excluded, except in `all_ids`)."""

    name: str
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, measured requests
    measured_ids: list[uuid.UUID] = field(default_factory=list)
    all_ids: list[uuid.UUID] = field(default_factory=list)  # accepted, warm-up included
    window: float = 0.0
    cpu: dict[str, Any] = field(default_factory=dict)


Outcome = tuple[int, uuid.UUID | None]  # the status, and the referral id if one was made
Request = Callable[[aiohttp.ClientSession, int], Awaitable[Outcome]]


async def drive(
    name: str,
    *,
    urls: list[str],
    request: Request,
    ok_status: int,
    clients: int,
    warmup: float,
    duration: float,
    requests: int | None,
    service_pids: list[int],
    database: str,
) -> Phase:
    """`clients` loops, each with its own connection to one of `urls` in turn, for `warmup`
    then `duration` seconds (or until `requests` measured requests have started)."""
    phase = Phase(name)
    tickets = count() if requests else None
    sessions = [
        aiohttp.ClientSession(
            base_url=urls[number % len(urls)],
            connector=aiohttp.TCPConnector(limit=1),
            timeout=aiohttp.ClientTimeout(total=60),
        )
        for number in range(clients)
    ]
    gc.freeze()  # the load generator's own full collections would show up as latency
    measure_from = time.perf_counter() + warmup
    stop_at = math.inf if requests else measure_from + duration
    last_done = measure_from
    cpu_before: dict[Key, float] = {}

    async def client_loop(session: aiohttp.ClientSession, number: int) -> None:
        nonlocal last_done
        while True:
            started = time.perf_counter()
            if started >= stop_at:
                return
            measured = started >= measure_from
            if measured and tickets is not None and requests and next(tickets) >= requests:
                return
            try:
                status, resource_id = await request(session, number)
                outcome = str(status)
            except (aiohttp.ClientError, TimeoutError) as error:
                status, resource_id, outcome = 0, None, type(error).__name__
            done = time.perf_counter()
            if status == ok_status and resource_id is not None:
                phase.all_ids.append(resource_id)
            if measured:
                phase.statuses[outcome] += 1
                phase.latencies.append(done - started)
                last_done = max(last_done, done)
                if status == ok_status and resource_id is not None:
                    phase.measured_ids.append(resource_id)

    async def snapshot_after_warmup() -> None:
        nonlocal cpu_before
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        cpu_before = cpu_snapshot(service_pids, database)

    try:
        await asyncio.gather(
            snapshot_after_warmup(), *(client_loop(s, i) for i, s in enumerate(sessions))
        )
    finally:
        await asyncio.gather(*(s.close() for s in sessions))
    phase.window = last_done - measure_from
    phase.cpu = cpu_report(cpu_before, cpu_snapshot(service_pids, database), phase.window)
    return phase


def percentiles(latencies: list[float]) -> dict[str, float | None]:
    ordered = sorted(latencies)

    def rank(q: float) -> float | None:  # nearest rank
        if not ordered:
            return None
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000, 2)

    return {
        "p50": rank(0.50),
        "p90": rank(0.90),
        "p99": rank(0.99),
        "max": rank(1.0),
    }


def _summary(phase: Phase, ok_status: int) -> dict[str, Any]:
    ok = phase.statuses.get(str(ok_status), 0)
    return {
        "requests": sum(phase.statuses.values()),
        "ok": ok,
        "errors_by_status": {
            status: n for status, n in sorted(phase.statuses.items()) if status != str(ok_status)
        },
        "seconds": round(phase.window, 2),
        "ok_per_s": round(ok / phase.window, 1) if phase.window else 0.0,
        "latency_ms": percentiles(phase.latencies),
        "cpu": phase.cpu,
        "service_cpu_ms_per_request": (
            round(phase.cpu["service_cores"] * phase.window * 1000 / ok, 3)
            if phase.cpu and ok
            else None
        ),
    }


# -- the service's database ---------------------------------------------------------------


async def _drain(database_url: str, accepted: list[uuid.UUID], within: float) -> dict[str, Any]:
    """Wait until the outbox has no unsent row; then count the accepted referrals whose
    event was published (its outbox row has `sent_at`)."""
    conn = await asyncpg.connect(database_url)
    try:
        started = time.monotonic()
        lag: float | None = None
        while time.monotonic() - started < within:
            unsent = await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
            if unsent == 0:
                lag = time.monotonic() - started
                break
            await asyncio.sleep(0.05)
        rows = await conn.fetch(
            """SELECT r.resource_id FROM journey_records r
               JOIN outbox o ON o.event_id = r.event_id
               WHERE r.kind = 'referral' AND o.sent_at IS NOT NULL
                 AND r.resource_id = ANY($1::uuid[])""",
            accepted,
        )
    finally:
        await conn.close()
    published = {row["resource_id"] for row in rows}
    return {
        "published_ids": published,
        "drain_lag_s": None if lag is None else round(lag, 2),
        "drained_within_deadline": lag is not None,
    }


def _service_log(path: Path, processes: int) -> dict[str, Any]:
    """Log lines by level, and whether every process's lifespan finished (relay drained,
    pool closed)."""
    levels: Counter[str] = Counter()
    stopped = 0
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            levels["not_json"] += 1
            continue
        levels[str(entry.get("level", "?"))] += 1
        stopped += entry.get("message") == "service stopped"
    return {"lines_by_level": dict(levels), "stopped_cleanly": stopped == processes}


# -- the run -----------------------------------------------------------------------------------


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (32)")
    parser.add_argument(
        "--processes", type=int, default=1, help="service processes, as replicas (1)"
    )
    parser.add_argument("--duration", type=float, default=20, help="measured seconds of writes")
    parser.add_argument("--baseline-duration", type=float, default=10, help="... of GET /livez")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds per phase")
    parser.add_argument(
        "--requests", type=int, help="a fixed number of measured requests per phase instead"
    )
    parser.add_argument("--ready-timeout", type=float, default=60, help="for /readyz (60)")
    parser.add_argument("--drain-timeout", type=float, default=60, help="for the outbox (60)")
    parser.add_argument("--skip-baseline", action="store_true", help="no GET /livez phase")
    parser.add_argument("--skip-ceiling", action="store_true", help="no ceiling phase")
    parser.add_argument(
        "--keep-database", action="store_true", help="leave the bench database for inspection"
    )
    parser.add_argument(
        "--service-log", type=Path, help="keep the service's log here (default: discarded)"
    )
    args = parser.parse_args()
    if args.processes < 1:
        parser.error("--processes must be at least 1")
    return args


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    stack = Stack.from_environment()
    database = f"referral_bench_{datetime.now(UTC):%Y%m%d%H%M%S}_{secrets.token_hex(3)}"
    database_url = with_database(stack.database_url, database)
    admin_url = with_database(stack.database_url, "postgres")
    signer = DevelopmentSigner(workdir / "auth")
    registry = AgencyRegistry.load(ROOT / "deploy" / "local" / "agencies.yaml")
    # Partners get a token per client and reuse it until it expires, as here.
    tokens = [
        f"Bearer {signer.mint(agency_id=a.id, scopes=['referrals:write', 'referrals:read'])}"
        for a in registry
        if a.type in FIRST_RESPONDERS
    ]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers,
        "AUTH_JWKS_FILE": str(signer.jwks_file),
    }
    log_path = args.service_log or workdir / "service.log"
    report: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
            "note": "service, load generator, PostgreSQL and Kafka share these cores",
        },
        "settings": {
            "clients": args.clients,
            "warmup_s": args.warmup,
            "duration_s": None if args.requests else args.duration,
            "baseline_duration_s": None if args.requests else args.baseline_duration,
            "requests_per_phase": args.requests,
            "service": f"python -m referral: uvicorn, {args.processes} process(es) of one "
            "worker each, on a port each, clients split evenly; access log off",
            "load_generator": f"this process: uvloop, aiohttp {aiohttp.__version__}, "
            "one session (one keep-alive connection) per client",
            "database": database,
        },
    }
    await ensure_database(database_url)
    ceiling = None
    if not args.skip_ceiling:
        ceiling = await _ceiling(args, env, workdir / "ceiling.log", database)
        report["ceiling"] = {
            "endpoint": "POST /writes: FastAPI + asyncpg, one INSERT (bench/write_ceiling.py)",
            **_summary(ceiling, 201),
        }
    service = await start_all(
        [sys.executable, "-m", "referral"],
        env,
        log_path,
        count=args.processes,
        ready_within=args.ready_timeout,
    )
    try:
        report["service_ready_s"] = round(service.ready_s, 2)

        async def livez(session: aiohttp.ClientSession, _: int) -> Outcome:
            async with session.get("/livez") as response:
                await response.read()
                return response.status, uuid.UUID(int=0)

        async def refer(session: aiohttp.ClientSession, number: int) -> Outcome:
            return await _post(
                session,
                "/v1/referrals",
                headers={
                    "Authorization": tokens[number % len(tokens)],
                    "Idempotency-Key": str(uuid.uuid4()),
                },
            )

        common: dict[str, Any] = {
            "urls": service.urls,
            "clients": args.clients,
            "warmup": args.warmup,
            "requests": args.requests,
            "service_pids": service.pids,
            "database": database,
        }
        baseline = None
        if not args.skip_baseline:
            baseline = await drive(
                "GET /livez",
                request=livez,
                ok_status=200,
                duration=args.baseline_duration,
                **common,
            )
            report["baseline"] = {"endpoint": "GET /livez", **_summary(baseline, 200)}
        writes = await drive(
            "POST /v1/referrals", request=refer, ok_status=201, duration=args.duration, **common
        )
        if service.died():
            raise ServiceFailed(f"the service died during the run ({service.died()})")
        if not writes.all_ids:
            raise ServiceFailed(f"no referral was accepted: {dict(writes.statuses)}")
        outbox = await _drain(database_url, writes.all_ids, args.drain_timeout)
        published = outbox.pop("published_ids")
        published_measured = sum(1 for i in writes.measured_ids if i in published)
        summary = _summary(writes, 201)
        writes_per_s = round(published_measured / writes.window, 1) if writes.window else 0.0
        report["writes"] = {
            "endpoint": "POST /v1/referrals",
            "requests": summary["requests"],
            "accepted": summary["ok"],
            "published": published_measured,
            "errors_by_status": summary["errors_by_status"],
            "seconds": summary["seconds"],
            "writes_per_s": writes_per_s,
            "latency_ms": summary["latency_ms"],
            "cpu": summary["cpu"],
            "service_cpu_ms_per_write": summary["service_cpu_ms_per_request"],
        }
        report["outbox"] = {
            "accepted_incl_warmup": len(writes.all_ids),
            "published_incl_warmup": len(published),
            "unpublished": len(writes.all_ids) - len(published),
            **outbox,
        }
        p99 = summary["latency_ms"]["p99"]
        if baseline is not None:
            base = report["baseline"]
            report["ratio_to_baseline"] = {
                "throughput": round(writes_per_s / base["ok_per_s"], 3)
                if base["ok_per_s"]
                else None,
                "p50_latency": _ratio(summary["latency_ms"]["p50"], base["latency_ms"]["p50"]),
                "p99_latency": _ratio(p99, base["latency_ms"]["p99"]),
            }
        cpu_per_write = report["writes"]["service_cpu_ms_per_write"]
        target_writes = TARGET_WRITES_PER_S
        if ceiling is not None:
            top = report["ceiling"]
            report["ratio_to_ceiling"] = {
                "throughput": round(writes_per_s / top["ok_per_s"], 3) if top["ok_per_s"] else None,
                "p50_latency": _ratio(summary["latency_ms"]["p50"], top["latency_ms"]["p50"]),
                "p99_latency": _ratio(p99, top["latency_ms"]["p99"]),
            }
            target_writes = min(TARGET_WRITES_PER_S, TARGET_SHARE_OF_CEILING * top["ok_per_s"])
        report["targets"] = {
            "writes_per_s": {
                "target": f">= {target_writes:.0f} (min of {TARGET_WRITES_PER_S} and "
                f"{TARGET_SHARE_OF_CEILING:.0%} of the ceiling)",
                "measured": writes_per_s,
                "pass": writes_per_s >= target_writes,
            },
            "p99_ms": {
                "target": f"< {TARGET_P99_MS}",
                "measured": p99,
                "pass": p99 is not None and p99 < TARGET_P99_MS,
            },
            "service_cpu_ms_per_write": {
                "target": f"< {TARGET_SERVICE_CPU_MS_PER_WRITE}",
                "measured": cpu_per_write,
                "pass": cpu_per_write is not None
                and cpu_per_write < TARGET_SERVICE_CPU_MS_PER_WRITE,
            },
        }
    finally:
        report["service_stop"] = await service.stop(30)
        report["service_log"] = _service_log(log_path, args.processes)
        if not args.keep_database:
            await drop_database(admin_url, database)
    return report


async def _post(
    session: aiohttp.ClientSession, path: str, headers: dict[str, str] | None = None
) -> Outcome:
    """POST a fresh referral body; the status, and the id the server gave it (on 201)."""
    occurred_at = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    async with session.post(path, json=referral_body(occurred_at), headers=headers) as response:
        body = await response.read()
    if response.status != 201:
        return response.status, None
    return 201, uuid.UUID(json.loads(body)["resource_id"])


async def _ceiling(
    args: argparse.Namespace, env: dict[str, str], log_path: Path, database: str
) -> Phase:
    """The ceiling phase, on processes of its own (stopped before the referral service
    starts), as many as the referral service gets."""
    command = [sys.executable, str(ROOT / "bench" / "write_ceiling.py")]
    ceiling = await start_all(
        command, env, log_path, count=args.processes, ready_within=args.ready_timeout
    )
    try:
        return await drive(
            "POST /writes",
            urls=ceiling.urls,
            request=lambda session, _: _post(session, "/writes"),
            ok_status=201,
            clients=args.clients,
            warmup=args.warmup,
            duration=args.duration,
            requests=args.requests,
            service_pids=ceiling.pids,
            database=database,
        )
    finally:
        await ceiling.stop(30)


def _ratio(value: float | None, base: float | None) -> float | None:
    return round(value / base, 2) if value is not None and base else None


def main() -> int:
    args = _arguments()
    try:
        import uvloop

        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        loop_factory = None
    with tempfile.TemporaryDirectory(prefix="referral-bench-") as workdir:
        try:
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                report = runner.run(run(args, Path(workdir)))
        except ServiceFailed as failure:
            print(f"bench broken: {failure}", file=sys.stderr)
            log = args.service_log or Path(workdir) / "service.log"
            if log.exists():
                print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
            return 1
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
