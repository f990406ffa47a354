"""The whole system under a running load, one fault per scenario: nothing acknowledged is
lost, the processor's flags and outcomes equal the oracle's, the analytics tables equal a
rebuild from the topics (checks.py). Each scenario prints what it injected and counted.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
import pytest

from journey_api.auth import SCOPES
from journey_api.tokens import DevelopmentSigner
from tests.faults.conftest import ScenarioFactory
from tests.faults.harness import Scenario
from tests.faults.load import CONCURRENCY
from tests.integration.broker import kill

pytestmark = pytest.mark.faults

OUTAGE_SECONDS = 20  # how long the broker or the database stays down: the fault itself
FAULT_AT = 0.3  # share of the load's writes acknowledged when the fault strikes


async def test_a_partner_api_killed_mid_request(scenario: ScenarioFactory) -> None:
    async with scenario(seed=101) as s:
        await s.until_acknowledged(FAULT_AT)
        before = s.load.statistics.requests
        s.system.kill("referral")
        s.system.restart("referral")
        await s.ready("referral")
        s.said(
            f"SIGKILL of the referral API under load ({CONCURRENCY} journeys' writes at a time; "
            f"after {before:,} requests), then a restart"
        )


async def test_the_outbox_relay_killed_between_publish_and_mark(
    scenario: ScenarioFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    armed, reached = tmp_path / "armed", tmp_path / "reached"
    monkeypatch.setenv("FAULT_ARMED", str(armed))
    monkeypatch.setenv("FAULT_REACHED", str(reached))
    fault_point = ("tests.faults.relay_fault_point", "referral")
    async with scenario(seed=102, entries={"referral": fault_point}) as s:
        await s.until_acknowledged(FAULT_AT)
        armed.touch()
        await s.until("the relay published a batch and hangs before marking it", reached.exists)
        s.system.kill("referral")
        s.system.start_service("referral")  # as it always runs: no crash window
        await s.ready("referral")
        s.said(
            f"SIGKILL of the referral API (its outbox relay) after Kafka acknowledged a "
            f"batch of {reached.read_text()} and before it was marked sent, then a restart"
        )
    assert s.figures.copies > 0, "the batch published before the kill was published again"


@pytest.mark.parametrize("process", ["journey-processor", "analytics-sink"])
async def test_a_consumer_killed(scenario: ScenarioFactory, process: str) -> None:
    async with scenario(seed=103 if process == "journey-processor" else 104) as s:
        await s.until_acknowledged(FAULT_AT)
        s.system.kill(process)
        s.system.restart(process)
        s.said(f"SIGKILL of the {process} mid-load, then a restart")


async def test_the_kafka_broker_killed_for_20_seconds(scenario: ScenarioFactory) -> None:
    async with scenario(seed=105) as s:
        await s.until_acknowledged(FAULT_AT)
        assert s.stack.kafka is not None
        kill(s.stack.kafka)
        before = len(s.load.statistics.acknowledged)
        try:
            await _outage(s)
        finally:  # the broker comes back, whatever failed meanwhile
            await asyncio.to_thread(s.stack.kafka.start)
        during = len(s.load.statistics.acknowledged) - before
        s.said(f"SIGKILL of the Kafka broker for {OUTAGE_SECONDS} s, then a restart")
        s.figures.notes.append(f"{during:,} writes acknowledged while the broker was down")
        assert during > 0, "the APIs kept taking writes into their outboxes"


async def test_postgresql_stopped_for_20_seconds(
    scenario: ScenarioFactory, signer: DevelopmentSigner
) -> None:
    async with scenario(seed=106) as s:
        await s.until_acknowledged(FAULT_AT)
        assert s.stack.postgres is not None
        await asyncio.to_thread(s.stack.postgres.stop)
        try:
            probe = await _while_database_down(s, signer)
            await _outage(s)
        finally:  # the server comes back, whatever failed meanwhile
            await asyncio.to_thread(s.stack.postgres.start)
        s.said(f"PostgreSQL stopped (fast shutdown) for {OUTAGE_SECONDS} s, then started")
        s.figures.notes.append(
            f"while down: {probe}; {s.load.statistics.retries_unavailable:,} requests "
            "retried after Retry-After"
        )


async def test_the_processor_state_lost_while_stopped(scenario: ScenarioFactory) -> None:
    async with scenario(seed=107) as s:
        await s.until_acknowledged(FAULT_AT)
        s.system.terminate("journey-processor")
        state = s.system.processor_data_dir
        held = sum(f.stat().st_size for f in state.rglob("*") if f.is_file())
        assert held, "the worker kept state on disk before it was lost"
        shutil.rmtree(state)
        s.system.restart("journey-processor")
        s.said(
            f"the processor stopped, its state directory ({held / 1e6:.1f} MB) deleted, "
            "then started again: restored from its changelog"
        )


async def _outage(s: Scenario) -> None:
    """The outage lasts OUTAGE_SECONDS while the load goes on (not a wait for anything)."""
    await asyncio.sleep(OUTAGE_SECONDS)
    s.alive()


async def _while_database_down(s: Scenario, signer: DevelopmentSigner) -> str:
    """What a partner sees while the database is down: a 503 problem with Retry-After,
    /readyz failing and /livez up."""
    agency = s.load.cohort.journeys[0].actions[0].agency
    token = signer.mint(agency_id=agency, scopes=sorted(SCOPES), lifetime_seconds=600)
    async with httpx.AsyncClient(base_url=s.deployment.url("referral"), timeout=10) as client:
        read = await client.get(  # any journey: the database is asked before anything else
            f"/v1/journeys/jny_{'a' * 26}/timeline", headers={"Authorization": f"Bearer {token}"}
        )
        ready, live = await client.get("/readyz"), await client.get("/livez")
    assert read.status_code == 503, read.text
    assert read.headers["content-type"] == "application/problem+json"
    assert int(read.headers["retry-after"]) > 0
    assert ready.status_code == 503 and live.status_code == 200
    return "a read answered 503 problem+json with Retry-After, /readyz 503, /livez 200"
