"""`journey whatif`: replay the stored history under other thresholds (analytics.domain.whatif).

    journey whatif --override rules.yaml --from 2024-01-01 --to 2025-06-30

`rules.yaml` maps rule ids to new durations, as a deployment's overrides do
(`reasonable-grounds-overdue: {working_days: 10}`); `--deployed FILE` names the
deployment's own overrides (PROCESSOR_RULE_OVERRIDES), if any. The journeys are those
whose first event falls in the period. The history is read from the topics (see
analytics.adapters.whatif_history, which `POST /v1/whatif` shares); the timing of both the read
and the replay is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from analytics.adapters.whatif_history import Overrides, book, evaluate, structural
from analytics.cli.report_text import Notes, aligned
from analytics.domain.disclosure import DEFAULT_THRESHOLD
from analytics.domain.period import Period
from analytics.domain.whatif import answer
from journey_platform.contracts import Contracts
from journey_platform.settings import find_schemas_dir


def overrides_in(path: Path | None) -> Overrides:
    return (yaml.safe_load(path.read_text()) or {}) if path else {}


def text(result: dict[str, Any], timing: dict[str, float]) -> str:
    notes = Notes(result["labels"])
    fields = ("actual", "whatif", "added", "removed", "earlier", "later", "whatif_resolved")
    rows = [[r["rule_id"], *(notes.cell(r[f], f) for f in fields)] for r in result["rules"]]
    headers = ["Rule", "Flagged", "What if", "Added", "Removed", "Earlier", "Later", "Resolved"]
    affected = notes.cell(result["journeys_affected"], "journeys_affected")
    lines = [
        aligned(headers, rows),
        f"journeys affected: {affected}",
        f"read the history from the topics in {timing['read_seconds']:.1f} s "
        f"({timing['events']:,.0f} events, {timing['ticks']:,.0f} ticks); "
        f"replayed in {timing['replay_seconds']:.1f} s",
    ]
    return notes.under("\n".join(lines))


async def _run(args: argparse.Namespace) -> int:
    contracts = Contracts.load(find_schemas_dir())
    deployed, override = overrides_in(args.deployed), overrides_in(args.override)
    rules, timing = await evaluate(
        bootstrap=args.bootstrap,
        contracts=contracts,
        chosen=book(contracts, deployed, override),
        period=Period(args.start, args.end),
        until=args.until,
    )
    zeros = structural(contracts, deployed, override)
    print(text(answer(rules, threshold=args.threshold, structural=zeros), timing))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--override", type=Path, required=True, help="rule id -> new within")
    parser.add_argument("--deployed", type=Path, help="the deployment's own overrides, if any")
    parser.add_argument("--from", dest="start", type=date.fromisoformat, metavar="YYYY-MM-DD")
    parser.add_argument("--to", dest="end", type=date.fromisoformat, metavar="YYYY-MM-DD")
    parser.add_argument(
        "--until",
        type=datetime.fromisoformat,
        help="replay the clock up to this time (default: the last tick on journey.clock)",
    )
    parser.add_argument("--threshold", type=int, default=DEFAULT_THRESHOLD)
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        help="Kafka (default KAFKA_BOOTSTRAP_SERVERS)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except (OSError, ValueError) as error:
        print(f"journey whatif: {error}", file=sys.stderr)
        return 1
