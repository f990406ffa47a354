"""`journey migrate`: every service's database and the catalogued topics, prepared once.

What each service does for itself at start-up (create its database, apply the API's and
its own migrations), done once before anything starts, then exit: the one-shot
migrations service of docker-compose.yml and the chart's pre-install/pre-upgrade Job.
Services still migrate at start-up; after this, that finds nothing to do.

Each service's database is `<SERVICE>_DATABASE_URL` (e.g. REFERRAL_DATABASE_URL), or
else the database named after the service on the server of DATABASE_URL, as `journey
run` lays them out. With KAFKA_BOOTSTRAP_SERVERS set, the topics of
`schemas/topics.yaml` that are missing are created (TOPIC_REPLICATION_FACTOR, default 1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from journey_platform.contracts import Contracts
from journey_platform.db import ensure_database
from journey_platform.kafka import client_options, ensure_topics
from journey_platform.migrations import migrate
from journey_platform.settings import find_schemas_dir

# Each service's migrations component is its name, and its SQL lives in its package.
SERVICES = ("referral", "support", "prosecution", "flags", "analytics")


def service_migrations(package: str) -> Path:
    """The folder of a package's numbered SQL files, inside the installed package (found
    without importing the service's app: its package's __init__ is all that loads)."""
    return Path(str(files(package) / "migrations"))


def database_url(service: str, environ: Mapping[str, str]) -> str:
    """`<SERVICE>_DATABASE_URL`, or the database named `service` on DATABASE_URL's server."""
    own = environ.get(f"{service.upper()}_DATABASE_URL")
    if own:
        return own
    shared = environ.get("DATABASE_URL")
    if not shared:
        raise ValueError(f"set {service.upper()}_DATABASE_URL or DATABASE_URL")
    return f"{shared.rsplit('/', 1)[0]}/{service}"


async def migrate_service(service: str, url: str, *, create_database: bool = True) -> list[str]:
    """Create `service`'s database if asked, apply what is pending; return what was applied."""
    if create_database:
        await ensure_database(url)
    api = service_migrations("journey_api")  # journey_api.service.API_MIGRATIONS
    conn = await asyncpg.connect(url)
    try:
        return await migrate(conn, ("api", api), (service, service_migrations(service)))
    finally:
        await conn.close()


async def wait_for_servers(services: list[str], environ: Mapping[str, str], within: float) -> None:
    """Until Kafka (when named) and each service's PostgreSQL server answer: a one-shot
    started beside its servers (compose without health conditions) waits for them."""
    deadline = time.monotonic() + within
    servers = {database_url(s, environ).rsplit("/", 1)[0] + "/postgres" for s in services}
    bootstrap = environ.get("KAFKA_BOOTSTRAP_SERVERS")
    while True:
        try:
            for url in servers:
                conn = await asyncpg.connect(url, timeout=5)
                await conn.close()
            if bootstrap:
                admin = AIOKafkaAdminClient(
                    bootstrap_servers=bootstrap, request_timeout_ms=5000, **client_options()
                )
                try:
                    await admin.start()
                    await admin.list_topics()
                finally:
                    await admin.close()
            return
        except (OSError, asyncpg.PostgresError, KafkaError, TimeoutError) as error:
            if time.monotonic() > deadline:
                raise ValueError(f"servers not answering after {within:.0f}s: {error!r}") from error
            await asyncio.sleep(1)


async def prepare(
    services: list[str],
    environ: Mapping[str, str],
    *,
    create_database: bool = True,
    wait: float = 0,
) -> list[str]:
    """Topics first (when Kafka is named), then each database; one line per change."""
    if wait:
        await wait_for_servers(services, environ, wait)
    done = []
    bootstrap = environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if bootstrap:
        contracts = Contracts.load(Path(environ.get("SCHEMAS_DIR") or find_schemas_dir()))
        factor = int(environ.get("TOPIC_REPLICATION_FACTOR", "1"))
        created = await ensure_topics(bootstrap, contracts, replication_factor=factor)
        done += [f"topic {name}" for name in created]
    for service in services:
        applied = await migrate_service(
            service, database_url(service, environ), create_database=create_database
        )
        done += [f"{service}: {version}" for version in applied]
    return done


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--service",
        action="append",
        choices=SERVICES,
        help="only this service's database (repeatable; default: every one)",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=0,
        metavar="SECONDS",
        help="wait this long for Kafka and PostgreSQL to answer first (default: not at all)",
    )
    parser.add_argument(
        "--no-create-database",
        action="store_true",
        help="the databases exist already (the role may not create databases)",
    )


def run(args: argparse.Namespace) -> int:
    services = args.service or list(SERVICES)
    try:
        changes = asyncio.run(
            prepare(
                services,
                os.environ,
                create_database=not args.no_create_database,
                wait=args.wait,
            )
        )
    except ValueError as error:
        print(f"journey migrate: {error}", file=sys.stderr)
        return 2
    for change in changes:
        print(f"applied {change}")
    print(f"migrations: {len(changes)} applied; {', '.join(services)} up to date")
    return 0
