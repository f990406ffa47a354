"""`journey simulate`: plan a cohort, drive it through the partner APIs, write the truth.

The `journey` command (cli/) parses the arguments with `add_arguments` and calls `run`
with where the local stack lives; this module holds the options and the sequence.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEFAULT_URLS = {
    "referral": "http://127.0.0.1:8001",
    "support": "http://127.0.0.1:8002",
    "prosecution": "http://127.0.0.1:8003",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--journeys", type=int, default=2000, help="people (default 2000)")
    parser.add_argument("--seed", type=int, default=1, help="the cohort's seed (default 1)")
    parser.add_argument("--start", default="2024-01-01", help="simulated start (2024-01-01)")
    parser.add_argument("--months", type=int, default=18, help="simulated months (default 18)")
    parser.add_argument(
        "--truth", type=Path, help="ground truth JSON (default .devstack/simulation/truth.json)"
    )
    for service, url in DEFAULT_URLS.items():
        parser.add_argument(f"--{service}-url", default=url, help=f"default {url}")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="journeys in flight at once (default 16)"
    )
    parser.add_argument(
        "--step-hours", type=float, default=24, help="simulated time per clock tick (24)"
    )
    parser.add_argument(
        "--run-tag", help="goes into every generated name (default: random, so runs never match)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_months(start: datetime, months: int) -> datetime:
    month = start.month - 1 + months
    return start.replace(year=start.year + month // 12, month=month % 12 + 1)


@dataclass(frozen=True)
class Options:
    journeys: int
    seed: int
    start: datetime
    end: datetime
    truth: Path
    urls: dict[str, str]
    concurrency: int
    step: timedelta
    run_tag: str
    progress: bool

    @classmethod
    def from_arguments(cls, args: argparse.Namespace, *, devstack_dir: Path) -> Options:
        start = datetime.fromisoformat(args.start)
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
        end = add_months(start, args.months)
        if end > datetime.now(UTC):
            raise ValueError(
                f"the window ends {end.date()}, in the future: the APIs record the past only"
            )
        return cls(
            journeys=args.journeys,
            seed=args.seed,
            start=start,
            end=end,
            truth=args.truth or devstack_dir / "simulation" / "truth.json",
            urls={s: getattr(args, f"{s}_url").rstrip("/") for s in DEFAULT_URLS},
            concurrency=args.concurrency,
            step=timedelta(hours=args.step_hours),
            run_tag=args.run_tag or secrets.token_hex(4),
            progress=not args.no_progress,
        )


async def simulate(
    options: Options, *, bootstrap_servers: str, auth_dir: Path
) -> dict[str, object]:
    """Plan, drive and write the truth; returns the truth document."""
    # Imported here: the `journey` command imports this module for its options on every
    # invocation, and should not pay for HTTP, Kafka and rich unless it simulates.
    from journey_api.auth import SCOPES
    from journey_api.tokens import DevelopmentSigner
    from journey_platform.contracts import Contracts
    from journey_platform.kafka import start_producer
    from journey_platform.settings import find_schemas_dir
    from journey_simulator import truth
    from journey_simulator.driver import KafkaClock, drive
    from journey_simulator.planner import plan_cohort

    cohort = plan_cohort(
        options.journeys,
        seed=options.seed,
        start=options.start,
        end=options.end,
        run_tag=options.run_tag,
    )
    signer = DevelopmentSigner(auth_dir)

    def token_for(agency: str) -> str:
        # Minted once per agency, for longer than any simulation runs.
        return signer.mint(agency_id=agency, scopes=sorted(SCOPES), lifetime_seconds=6 * 3600)

    producer = await start_producer(bootstrap_servers, "journey-simulator")
    try:
        clock = KafkaClock(producer, Contracts.load(find_schemas_dir()))
        journey_ids, statistics = await drive(
            cohort,
            urls=options.urls,
            token_for=token_for,
            clock=clock,
            run_tag=options.run_tag,
            step=options.step,
            concurrency=options.concurrency,
            show_progress=options.progress,
        )
    finally:
        await producer.stop()
    document = truth.document(
        cohort,
        journey_ids,
        run_tag=options.run_tag,
        statistics=statistics.as_dict(len(cohort.journeys)),
    )
    truth.write(document, options.truth)
    return document


def run(
    args: argparse.Namespace, *, bootstrap_servers: str, devstack_dir: Path, auth_dir: Path
) -> int:
    from journey_platform.settings import PlatformSettings
    from journey_platform.telemetry import start_telemetry
    from journey_simulator.partners import SimulationError

    start_telemetry(PlatformSettings(service_name="journey-simulator", metrics_port=0))
    try:
        options = Options.from_arguments(args, devstack_dir=devstack_dir)
    except ValueError as error:
        print(f"journey simulate: {error}", file=sys.stderr)
        return 2
    try:
        document = asyncio.run(
            simulate(options, bootstrap_servers=bootstrap_servers, auth_dir=auth_dir)
        )
    except SimulationError as error:
        print(f"journey simulate: {error}", file=sys.stderr)
        return 1
    statistics = document["statistics"]
    assert isinstance(statistics, dict)
    print(
        f"{document['journeys']:,} journeys, {statistics['requests']:,} requests "
        f"({statistics['requests_per_journey']} per journey) in {statistics['seconds']} s: "
        f"{statistics['requests_per_second']} requests/s; truth: {options.truth}"
    )
    return 0
