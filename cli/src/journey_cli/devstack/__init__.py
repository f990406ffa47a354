"""`journey devstack`: a real Kafka broker and PostgreSQL server on this machine, no Docker.

State and logs live under one project-local folder (`.devstack/`, or DEVSTACK_DIR).
KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL, when set, name existing servers to use
instead: the stack then only waits for them and creates the catalogued topics.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from journey_cli.devstack.kafka import LocalKafka
from journey_cli.devstack.postgres import LocalPostgres
from journey_cli.devstack.processes import StackError
from journey_platform.contracts import Contracts
from journey_platform.kafka import ensure_topics
from journey_platform.settings import find_schemas_dir

__all__ = ["Stack", "StackError"]


def _project_root() -> Path:
    return find_schemas_dir().parent


@dataclass(frozen=True)
class Stack:
    """Where the stack's parts live and how to reach them."""

    root: Path
    kafka: LocalKafka | None  # None: an existing broker named by KAFKA_BOOTSTRAP_SERVERS
    postgres: LocalPostgres | None  # None: an existing server named by DATABASE_URL
    bootstrap_servers: str
    database_url: str

    @classmethod
    def from_environment(cls) -> Stack:
        project = _project_root()
        root = Path(os.environ.get("DEVSTACK_DIR", project / ".devstack")).resolve()
        kafka = postgres = None
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not bootstrap:
            kafka = LocalKafka(
                home=root / "kafka",
                pom=project / "deploy" / "local" / "pom.xml",
                port=int(os.environ.get("DEVSTACK_KAFKA_PORT", "19092")),
            )
            bootstrap = kafka.bootstrap
        database_url = os.environ.get("DATABASE_URL")
        if not database_url:
            postgres = LocalPostgres(
                home=root / "postgres", port=int(os.environ.get("DEVSTACK_POSTGRES_PORT", "15432"))
            )
            database_url = postgres.url
        return cls(root, kafka, postgres, bootstrap, database_url)

    @property
    def env_file(self) -> Path:
        return self.root / "env"

    def environment(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "DATABASE_URL": self.database_url,
        }

    def up(self) -> list[str]:
        """Start what is not running, wait for both servers, create topics. Safe to repeat."""
        self.root.mkdir(parents=True, exist_ok=True)
        started = []
        if self.postgres and self.postgres.start():
            started.append("postgres")
        if self.kafka and self.kafka.start():
            started.append("kafka")
        asyncio.run(self._wait_and_prepare(within=120))
        self.env_file.write_text(
            "".join(f"export {k}={v}\n" for k, v in self.environment().items())
        )
        return started

    def down(self) -> list[str]:
        """Stop what this stack started (existing servers are left alone)."""
        stopped = []
        if self.kafka and self.kafka.stop():
            stopped.append("kafka")
        if self.postgres and self.postgres.stop():
            stopped.append("postgres")
        return stopped

    def reset(self) -> None:
        """Stop the local servers and delete their data (kept: downloaded jars, binaries):
        the next `up` starts from empty topics and databases. Existing servers named by
        the environment are never touched."""
        self.down()
        if self.kafka:
            shutil.rmtree(self.kafka.home / "data", ignore_errors=True)
        if self.postgres:
            shutil.rmtree(self.postgres.data, ignore_errors=True)

    def status(self) -> dict[str, str]:
        return asyncio.run(self._status())

    async def _status(self) -> dict[str, str]:
        kafka_ok, postgres_ok = await asyncio.gather(
            self._kafka_answers(), self._postgres_answers()
        )
        return {
            "kafka": f"{'up' if kafka_ok else 'down'} at {self.bootstrap_servers}",
            "postgres": f"{'up' if postgres_ok else 'down'} at {self.database_url}",
        }

    async def _kafka_answers(self) -> bool:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers, request_timeout_ms=3000
        )
        try:
            await admin.start()
            await admin.list_topics()
            return True
        except (KafkaError, OSError):
            return False
        finally:
            await admin.close()

    async def _postgres_answers(self) -> bool:
        try:
            conn = await asyncpg.connect(self.database_url, timeout=3)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await conn.close()
        return True

    async def _wait_and_prepare(self, *, within: float) -> None:
        deadline = time.monotonic() + within
        while not await self._postgres_answers():
            if time.monotonic() > deadline:
                raise StackError(f"PostgreSQL at {self.database_url} does not answer")
            await asyncio.sleep(0.5)
        while not await self._kafka_answers():
            if time.monotonic() > deadline:
                raise StackError(f"Kafka at {self.bootstrap_servers} does not answer")
            await asyncio.sleep(0.5)
        await ensure_topics(self.bootstrap_servers, Contracts.load(find_schemas_dir()))
