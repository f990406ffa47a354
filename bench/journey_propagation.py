"""How long a journey just referred stays unknown to the support and prosecution services.

    uv run --frozen python bench/journey_propagation.py [--referrals 200] [--lanes 1]

A partner refers a person (201 from the referral service) and at once asks the support
or prosecution service about that journey; until the service has consumed the referral
from `nrm.identification` it answers 404. This measures that window on the real stack:

1. starts referral, support and prosecution as their own processes (`python -m NAME`,
   production settings: the outbox relay polls every 0.2 s unless
   `OUTBOX_POLL_INTERVAL_SECONDS` says otherwise), each on a fresh database, the consumer
   groups starting at the topic's end;
2. submits `--referrals` referrals (`--lanes` at a time; a few unmeasured first) and,
   from each 201, polls the support and prosecution databases (every 2 ms) until both
   hold the journey: exactly what their `journey_is_known` checks before a 201;
3. prints one JSON object: the propagation time (201 -> known by both) p50/p90/p99/max,
   and where it goes, from the databases' own clock: the outbox row waiting for the relay
   (`sent_at - created_at`), and Kafka from the relay's publish to the consumer's insert
   (`known_since - sent_at`).

It reports, never fails on slowness; the exit status is 0 unless the run itself broke.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from journey_api.agencies import AgencyRegistry
from journey_api.tokens import DevelopmentSigner
from journey_cli.devstack import Stack
from journey_cli.devstack.processes import free_ports
from journey_platform.contracts import Contracts
from journey_platform.kafka import client_options
from journey_platform.settings import find_schemas_dir
from nrm_domain.agencies import FIRST_RESPONDERS
from referral_writes import percentiles, referral_body
from service_processes import ServiceFailed, drop_database, stop, wait_ready, with_database

ROOT = find_schemas_dir().parent
TOPIC = "nrm.identification"
LEARNERS = ("support", "prosecution")
TARGET_P99_MS = 500
POLL_SECONDS = 0.002
WARMUP_REFERRALS = 5


@dataclass
class Service:
    name: str
    url: str
    database_url: str
    process: asyncio.subprocess.Process


async def _start_groups_at_end(bootstrap: str, groups: list[str]) -> None:
    """New consumer groups start where the topic ends now: a long-lived development broker's
    history is not part of what a new referral waits for."""
    count = Contracts.load(find_schemas_dir()).topics[TOPIC].partitions
    partitions = [TopicPartition(TOPIC, p) for p in range(count)]
    for group in groups:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group,
            enable_auto_commit=False,
            **client_options(),
        )
        await consumer.start()
        try:
            consumer.assign(partitions)
            await consumer.commit(dict(await consumer.end_offsets(partitions)))
        finally:
            await consumer.stop()


@asynccontextmanager
async def _service(
    name: str, stack: Stack, run: str, jwks: Path, workdir: Path, ready_within: float
) -> AsyncIterator[Service]:
    database = f"{name}_propagation_{run}"
    database_url = with_database(stack.database_url, database)
    (port,) = free_ports(1)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers,
        "HTTP_PORT": str(port),
        "AUTH_JWKS_FILE": str(jwks),
        "CONSUMER_GROUP_PREFIX": f"propagation-{run}-{name}",
    }
    with (workdir / f"{name}.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", name, env=env, stdout=log, stderr=log, cwd=ROOT
        )
    service = Service(name, f"http://127.0.0.1:{port}", database_url, process)
    try:
        await wait_ready(process, service.url, ready_within)
        yield service
    finally:
        await stop(process, 30)
        await drop_database(with_database(stack.database_url, "postgres"), database)


async def _known(conn: asyncpg.Connection, journey_id: str, within: float) -> float | None:
    """The monotonic time at which the journey was seen in this database, or None."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await conn.fetchval("SELECT true FROM journeys WHERE journey_id = $1", journey_id):
            return time.monotonic()
        await asyncio.sleep(POLL_SECONDS)
    return None


async def _refer_and_watch(
    session: aiohttp.ClientSession,
    referral: Service,
    token: str,
    learners: dict[str, asyncpg.Connection],
    within: float,
) -> dict[str, Any]:
    occurred_at = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    async with session.post(
        f"{referral.url}/v1/referrals",
        json=referral_body(occurred_at),
        headers={"Authorization": token, "Idempotency-Key": secrets.token_hex(16)},
    ) as response:
        body = await response.json()
        created = time.monotonic()
    if response.status != 201:
        raise ServiceFailed(f"referral answered {response.status}: {body}")
    journey_id = body["journey_id"]
    seen = await asyncio.gather(*(_known(c, journey_id, within) for c in learners.values()))
    return {
        "journey_id": journey_id,
        "record_id": body["record_id"],
        "ms": {
            name: None if at is None else (at - created) * 1000
            for name, at in zip(learners, seen, strict=True)
        },
    }


async def _stages(
    referral: asyncpg.Connection, learners: dict[str, asyncpg.Connection], measured: list[Any]
) -> dict[str, Any]:
    """Where the time went, by the database server's clock (one clock for every database)."""
    rows = await referral.fetch(
        """SELECT r.journey_id,
                  extract(epoch FROM o.sent_at - o.created_at) * 1000 AS outbox_ms,
                  o.sent_at
           FROM journey_records r JOIN outbox o ON o.event_id = r.event_id
           WHERE r.record_id = ANY($1::uuid[])""",
        [m["record_id"] for m in measured],
    )
    sent = {row["journey_id"]: row["sent_at"] for row in rows}
    stages: dict[str, Any] = {
        "outbox_wait_ms": percentiles([float(row["outbox_ms"]) / 1000 for row in rows])
    }
    for name, conn in learners.items():
        known = await conn.fetch(
            "SELECT journey_id, known_since FROM journeys WHERE journey_id = ANY($1::text[])",
            list(sent),
        )
        stages[f"kafka_to_{name}_ms"] = percentiles(
            [(row["known_since"] - sent[row["journey_id"]]).total_seconds() for row in known]
        )
    return stages


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--referrals", type=int, default=200, help="measured referrals (200)")
    parser.add_argument("--lanes", type=int, default=1, help="referrals in flight at once (1)")
    parser.add_argument("--within", type=float, default=30, help="seconds to wait per journey")
    parser.add_argument("--ready-timeout", type=float, default=90, help="for /readyz (90)")
    return parser.parse_args()


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    stack = Stack.from_environment()
    run_id = f"{datetime.now(UTC):%Y%m%d%H%M%S}_{secrets.token_hex(3)}"
    signer = DevelopmentSigner(workdir / "auth")
    registry = AgencyRegistry.load(ROOT / "deploy" / "local" / "agencies.yaml")
    police = next(a for a in registry if a.type in FIRST_RESPONDERS)
    token = f"Bearer {signer.mint(agency_id=police.id, scopes=['referrals:write'])}"
    await _start_groups_at_end(
        stack.bootstrap_servers, [f"propagation-{run_id}-{n}-journeys" for n in LEARNERS]
    )
    async with AsyncExitStack() as stack_of:
        services = {
            name: await stack_of.enter_async_context(
                _service(name, stack, run_id, signer.jwks_file, workdir, args.ready_timeout)
            )
            for name in ("referral", *LEARNERS)
        }
        connections = {
            name: await asyncpg.connect(service.database_url) for name, service in services.items()
        }
        learners = {name: connections[name] for name in LEARNERS}
        session = await stack_of.enter_async_context(aiohttp.ClientSession())
        results: list[dict[str, Any]] = []
        pending = iter(range(WARMUP_REFERRALS + args.referrals))
        lane_connections = [
            {name: await asyncpg.connect(services[name].database_url) for name in LEARNERS}
            for _ in range(args.lanes)
        ]

        async def lane(number: int) -> None:
            for _ in pending:
                result = await _refer_and_watch(
                    session, services["referral"], token, lane_connections[number], args.within
                )
                results.append(result)

        started = time.monotonic()
        await asyncio.gather(*(lane(n) for n in range(args.lanes)))
        elapsed = time.monotonic() - started
        measured = results[WARMUP_REFERRALS:]
        both = [max(m["ms"].values()) / 1000 for m in measured if None not in m["ms"].values()]
        report: dict[str, Any] = {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine": {
                "cores": os.cpu_count(),
                "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
            },
            "settings": {
                "referrals": len(measured),
                "lanes": args.lanes,
                "outbox_poll_interval_s": float(
                    os.environ.get("OUTBOX_POLL_INTERVAL_SECONDS", "0.2")
                ),
                "known_means": "the journey row exists in the service's database",
            },
            "seconds": round(elapsed, 1),
            "never_known": len(measured) - len(both),
            "propagation_ms": percentiles(both),
            "by_service_ms": {
                name: percentiles(
                    [m["ms"][name] / 1000 for m in measured if m["ms"][name] is not None]
                )
                for name in LEARNERS
            },
            "stages": await _stages(connections["referral"], learners, measured),
        }
        p99 = report["propagation_ms"]["p99"]
        report["target"] = {
            "p99_ms": f"< {TARGET_P99_MS}",
            "measured": p99,
            "pass": p99 is not None and p99 < TARGET_P99_MS,
        }
        for conn in [*connections.values(), *(c for lc in lane_connections for c in lc.values())]:
            await conn.close()
    return report


def main() -> int:
    args = _arguments()
    with tempfile.TemporaryDirectory(prefix="propagation-bench-") as workdir:
        try:
            report = asyncio.run(run(args, Path(workdir)))
        except ServiceFailed as failure:
            print(json.dumps({"error": str(failure)}), file=sys.stderr)
            return 1
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
