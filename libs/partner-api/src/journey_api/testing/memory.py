"""A partner service's app on the in-memory adapters, for fast tests: no PostgreSQL, no
Kafka. Build the app with the service's own `create_app(settings)`, then `run_in_memory`
gives it the `Runtime` its lifespan would have built (httpx.ASGITransport does not run
the lifespan), with `MemoryRecordStore` behind every route.

What this cannot hold, and tests on the real services (tests/integration) do:
- transactions: a request that fails half-way keeps what it wrote (each test's store is
  its own), and there is no row lock, so no test of concurrent writers belongs here;
- an Idempotency-Key "in flight" (409): a request here never yields to another midway;
- the outbox relay and Kafka: events stay in `MemoryRecordStore.outbox`, and a test
  hands them to another service's `learn_journey` itself;
- migrations, the SQL of the write pipeline, and the database's own refusals;
- sealing: the referral service's `MemoryVault` (referral.testing) keeps identifying
  details in clear, so key rotation and crypto-shredding are tested on PostgreSQL only.
None of these decides who may do what, so the whole authorisation matrix runs here
(tests/authorisation/test_in_memory.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import cast

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from fastapi.responses import Response

from journey_api.adapters.memory import MemoryRecordStore
from journey_api.agencies import AgencyRegistry
from journey_api.config import ApiSettings
from journey_api.idempotency import Claim, Work, checked_key, reused_key
from journey_api.records import JourneyRecords
from journey_api.runtime import Runtime
from journey_api.service import token_verifier
from journey_platform.contracts import Contracts
from journey_platform.envelope import Event, decode
from journey_platform.outbox import Outbox
from journey_platform.relay import OutboxRelay


class MemoryPool:
    """Stands in for the asyncpg pool: the in-memory adapters need no connection."""

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[None]:
        yield None


class NoRelay:
    """Events stay in the store's outbox: there is nothing to wake."""

    def wake(self) -> None:
        pass


@dataclass
class MemoryIdempotency:
    """Idempotency-Key as `idempotency.respond_once` answers it, with the answers kept
    in the store (where its `write` puts a record's 201)."""

    store: MemoryRecordStore
    requests: dict[tuple[str, str], str] = field(default_factory=dict)  # -> request hash

    async def respond_once(
        self,
        pool: asyncpg.Pool,
        *,
        client_id: str,
        key: str | None,
        fingerprint: str,
        work: Work,
    ) -> Response:
        claimed = (client_id, checked_key(key))
        if claimed in self.requests:
            if self.requests[claimed] != fingerprint:
                raise reused_key()
            status, body = self.store.answers[claimed]
        else:
            async with pool.acquire() as conn:
                held = Claim(*claimed)
                status, body = await work(conn, held)
            self.requests[claimed] = fingerprint
            if not held.answered:
                self.store.answers[claimed] = (status, body)
        return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def run_in_memory(app: FastAPI, settings: ApiSettings, store: MemoryRecordStore) -> FastAPI:
    """The app, its routes reaching `store` (and an in-memory Idempotency-Key) through
    the runtime its lifespan would otherwise build on PostgreSQL and Kafka."""
    contracts = Contracts.load(settings.schemas_dir)
    app.state.verifier = token_verifier(
        settings, AgencyRegistry.load(settings.agency_registry_path)
    )
    app.state.runtime = Runtime(
        settings,
        contracts,
        pool=cast(asyncpg.Pool, MemoryPool()),
        producer=cast(AIOKafkaProducer, None),  # nothing here publishes
        records=JourneyRecords(outbox=Outbox(contracts), source=settings.service_name),
        relay=cast(OutboxRelay, NoRelay()),
        stop=asyncio.Event(),
        tasks=[],
        store=lambda _: store,
        respond_once=MemoryIdempotency(store).respond_once,
    )
    return app


def published(store: MemoryRecordStore, contracts: Contracts, *, since: int = 0) -> list[Event]:
    """The events in the store's outbox from position `since`, read back as a consumer
    reads them from Kafka (the relay sends each row's payload and headers as they are)."""
    return [
        decode(
            topic=staged.topic,
            key=staged.journey_id.encode(),
            value=staged.payload,
            headers=[(name, value) for name, value in json.loads(staged.headers)],
            contracts=contracts,
        )
        for staged in store.outbox[since:]
    ]
