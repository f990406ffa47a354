"""`journey deadletter list` and `journey deadletter replay`: arguments, output, exit codes
(0 done, 1 the broker did not answer in time, 2 refused: the message says what is allowed)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass

from aiokafka.errors import KafkaError

from journey_cli.deadletter.records import (
    ID_FORMAT,
    LINE_COLUMNS,
    DeadLetter,
    DeadLetterId,
    Refused,
    Replay,
)
from journey_cli.deadletter.topic import fetch, publish, read_dead_letters
from journey_platform.contracts import Contracts
from journey_platform.settings import PlatformSettings, find_schemas_dir

REPLAY_HELP = (
    "Put dead letters back on the topic they came from, once their cause is fixed: the "
    "original key, value and headers (without the dlq_* headers), to the original "
    "partition, with an idempotent producer. Replaying is safe to repeat: every consumer "
    "de-duplicates by event id (ce_id), so an event it already applied is skipped. A "
    "record that still cannot be processed is dead-lettered again."
)


def add_arguments(top: argparse.ArgumentParser) -> None:
    actions = top.add_subparsers(dest="action", required=True)
    listing = actions.add_parser(
        "list",
        help="what consumers could not process, and why (never a record's key or value)",
        description=f"One line per dead letter: {LINE_COLUMNS}. Ids are {ID_FORMAT} on the "
        "dead-letter topic. Reads the topic from the beginning to its end when the command "
        "starts.",
    )
    listing.add_argument("--topic", help="only dead letters from this original topic")
    listing.add_argument("--group", help="only those this consumer group dead-lettered")
    listing.add_argument(
        "--limit", type=int, default=100, help="print the newest N (default 100; 0: all)"
    )
    listing.add_argument("--json", action="store_true", help="one JSON object a line")
    replay = actions.add_parser(
        "replay",
        help="put dead letters back on their topics (safe to repeat)",
        description=REPLAY_HELP,
    )
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--id", action="append", dest="ids", metavar=ID_FORMAT, help="a dead letter (repeatable)"
    )
    which.add_argument(
        "--all", action="store_true", help="every dead letter of --group (and --topic)"
    )
    replay.add_argument("--group", help="with --all: the consumer group that dead-lettered them")
    replay.add_argument("--topic", help="with --all: only those from this original topic")
    for parser in (listing, replay):
        parser.add_argument(
            "--timeout", type=float, default=120, help="seconds to read for (default 120)"
        )


@dataclass(frozen=True)
class _Target:
    bootstrap_servers: str
    topic: str
    partitions: int
    contracts: Contracts


def _filter_text(args: argparse.Namespace) -> str:
    chosen = [f"{name} {value}" for name in ("group", "topic") if (value := getattr(args, name))]
    return ", ".join(chosen) or "no filter"


async def _matching(args: argparse.Namespace, target: _Target) -> list[DeadLetter]:
    found = await read_dead_letters(
        target.bootstrap_servers,
        topic=target.topic,
        partitions=target.partitions,
    )
    return [d for d in found if d.matches(topic=args.topic, group=args.group)]


async def _list(args: argparse.Namespace, target: _Target) -> int:
    if args.limit < 0:
        raise Refused("--limit must be 0 (all) or more")
    matching = sorted(await _matching(args, target), key=lambda d: (d.failed_at or "", d.id))
    shown = matching[-args.limit :] if args.limit else matching
    if args.json:
        for dead_letter in shown:
            print(json.dumps(dead_letter.as_json()))
    elif shown:
        print(LINE_COLUMNS)
        for dead_letter in shown:
            print(dead_letter.line())
    summary = (
        f"listed {len(shown):,} of {len(matching):,} dead letters on {target.topic} "
        f"({_filter_text(args)})"
        if matching
        else f"no dead letters on {target.topic} ({_filter_text(args)})"
    )
    print(summary, file=sys.stderr if args.json else sys.stdout)
    return 0


async def _replay(args: argparse.Namespace, target: _Target) -> int:
    if args.all:
        if not args.group:
            raise Refused("--all needs --group: replay one consumer group's dead letters at a time")
        # By id: one journey's dead letters share a partition, so this keeps their order.
        ids = sorted(d.id for d in await _matching(args, target))
        if not ids:
            print(f"no dead letters on {target.topic} ({_filter_text(args)}): nothing replayed")
            return 0
    else:
        if args.group or args.topic:
            raise Refused("--group and --topic go with --all; --id names exact dead letters")
        ids = [DeadLetterId.parse(text) for text in args.ids]
    records = await fetch(
        target.bootstrap_servers,
        topic=target.topic,
        partitions=target.partitions,
        ids=ids,
    )
    # Every id is checked before anything is published: a refusal replays nothing.
    replays = [
        Replay.of(r, contracts=target.contracts, dead_letter_topic=target.topic) for r in records
    ]
    for line in await publish(target.bootstrap_servers, replays):
        print(line)
    print(f"replayed {len(replays)}; consumers skip any event they already applied (by ce_id)")
    return 0


def run(args: argparse.Namespace, *, bootstrap_servers: str) -> int:
    contracts = Contracts.load(find_schemas_dir())
    topic = PlatformSettings().dead_letter_topic
    target = _Target(bootstrap_servers, topic, contracts.topics[topic].partitions, contracts)
    command = _list if args.action == "list" else _replay

    async def bounded() -> int:
        async with asyncio.timeout(args.timeout):
            return await command(args, target)

    try:
        return asyncio.run(bounded())
    except Refused as refusal:
        print(f"journey deadletter {args.action}: {refusal}", file=sys.stderr)
        return 2
    except TimeoutError:
        print(
            f"journey deadletter {args.action}: gave up after {args.timeout:g} s on {topic} "
            f"at {bootstrap_servers}; a long topic needs a longer --timeout",
            file=sys.stderr,
        )
        return 1
    except KafkaError as error:
        print(
            f"journey deadletter {args.action}: Kafka at {bootstrap_servers}: {error}",
            file=sys.stderr,
        )
        return 1
