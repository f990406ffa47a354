"""`journey analytics rebuild [--database-url URL] [--since MOMENT]`: empty a database's
analytics tables and fold the sink's topics into them again (analytics.adapters.rebuild
says how, and why that gives the tables a live sink holds)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime

from analytics.adapters.rebuild import TABLES, rebuild
from analytics.config import AnalyticsSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["rebuild"])
    parser.add_argument(
        "--database-url",
        help="the database to rebuild into (created if missing; its analytics tables are "
        "emptied first). Default: analytics_rebuild beside DATABASE_URL's database",
    )
    parser.add_argument(
        "--since",
        type=datetime.fromisoformat,
        help="read from the first records written at or after this moment (ISO 8601, with "
        "its offset) instead of the beginning",
    )


def run(args: argparse.Namespace, *, database_url: str, bootstrap_servers: str) -> int:
    """The `journey analytics rebuild` command."""
    target = args.database_url or database_url.rsplit("/", 1)[0] + "/analytics_rebuild"
    if args.since is not None and args.since.tzinfo is None:
        print("journey analytics rebuild: --since needs a UTC offset", file=sys.stderr)
        return 2
    settings = AnalyticsSettings(database_url=target, kafka_bootstrap_servers=bootstrap_servers)
    rebuilt = asyncio.run(rebuild(settings, since=args.since))
    print(
        f"rebuilt {', '.join(TABLES)} in {target.rsplit('/', 1)[-1]} from "
        f"{rebuilt.records:,} records ({rebuilt.unreadable:,} unreadable, skipped)"
    )
    return 0
