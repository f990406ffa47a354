"""What-if on the real stack: a year of a simulated cohort re-evaluated, print JSON.

    uv run python bench/whatif.py [--journeys 2000] [--year 2031] [--seed 7]

A cohort referred over one year (the simulator's offline log, journey_simulator.eventlog),
with the flags the processor's core publishes for it under the deployed thresholds and an
hourly clock tick for the year, is put on the devstack's Kafka (KAFKA_BOOTSTRAP_SERVERS),
in a year no other data uses. Then analytics.adapters.whatif_history.evaluate, the one
implementation behind `journey whatif` and `POST /v1/whatif`, runs twice (the deployed
thresholds; the Reasonable Grounds deadline at 10 working days), timing the read from the
topics and the replay apart. Target: under 30 s each, on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from datetime import UTC, datetime, timedelta

from analytics.adapters.whatif_history import book, evaluate
from analytics.domain.period import Period
from analytics.domain.whatif import run_core
from journey_platform.clock import tick_event
from journey_platform.contracts import Contracts
from journey_platform.envelope import encode
from journey_platform.kafka import start_producer
from journey_platform.settings import find_schemas_dir
from journey_simulator.eventlog import generate

OVERRIDES = {
    "deployed": {},
    "reasonable_grounds_10_working_days": {"reasonable-grounds-overdue": {"working_days": 10}},
}


async def main(journeys: int, year: int, seed: int) -> dict[str, object]:
    contracts = Contracts.load(find_schemas_dir())
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    start = datetime(year, 1, 1, tzinfo=UTC)
    until = start + timedelta(days=366)
    events = [e for e in generate(journeys, seed=seed, start=start, contracts=contracts)
              if e.recorded_time <= until]  # fmt: skip
    ticks = [start + timedelta(hours=h) for h in range(366 * 24)]
    deployed = book(contracts, {}, {})
    flags = [e for e in run_core(events, ticks, deployed) if e.type.startswith("uk.nrm.dropoff.")]
    producer = await start_producer(bootstrap, "bench-whatif")
    try:
        for event in [*events, *flags, *(tick_event(0, t) for t in ticks)]:
            record = encode(event, contracts)
            await producer.send(
                record.topic, value=record.value, key=record.key, headers=record.headers
            )
        await producer.flush()
    finally:
        await producer.stop()
    runs = {}
    for name, override in OVERRIDES.items():
        rules, timing = await evaluate(
            bootstrap=bootstrap,
            contracts=contracts,
            chosen=book(contracts, {}, override),
            period=Period(start.date(), (start + timedelta(days=364)).date()),
            until=until,
        )
        flagged = rules.get("reasonable-grounds-overdue")
        runs[name] = {
            **{k: round(v, 2) for k, v in timing.items()},
            "total_seconds": round(timing["read_seconds"] + timing["replay_seconds"], 2),
            "reasonable_grounds_counts": flagged.counts if flagged else None,
        }
    return {"journeys": journeys, "year": year, "flags_published": len(flags), "runs": runs}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--journeys", type=int, default=2000)
    parser.add_argument("--year", type=int, default=2031)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.journeys, args.year, args.seed)), indent=2))
