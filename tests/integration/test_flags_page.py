"""The agencies' page on the flags service, in headless Chromium: an agency's open flags,
most overdue first, in the catalogue's words, exactly those the API lists for it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from playwright.async_api import Browser

from journey_platform.contracts import Contracts
from tests.integration.analytics_events import dropoff, journey_event, publish
from tests.integration.dashboard_page import (
    LOAD_TIMEOUT_MS,
    assert_policy_enforced,
    chromium,
    console_errors,
    script_errors,
)
from tests.integration.events import new_journey_id
from tests.integration.flags_client import eventually, flags_of
from tests.integration.services import RunningService, Tokens

pytestmark = pytest.mark.integration
PROVIDER = "haven-support"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as browser:
        yield browser


async def test_an_agency_sees_its_open_flags_most_overdue_first_in_plain_words(
    browser: Browser,
    flags_service: RunningService,
    tokens: Tokens,
    producer: AIOKafkaProducer,
    contracts: Contracts,
) -> None:
    now = datetime.now(UTC)
    journey = new_journey_id()
    missing, silent = str(uuid.uuid4()), str(uuid.uuid4())
    offered = journey_event(contracts, "uk.nrm.support.offered", journey, now - timedelta(days=9))
    await publish(
        producer,
        contracts,
        [
            replace(offered, recorded_by=PROVIDER),  # the provider takes part
            dropoff(journey, silent, rule_id="no-support-contact", due=now - timedelta(days=1)),
            dropoff(journey, missing, rule_id="missing-episode", due=now - timedelta(days=3)),
        ],
    )
    async with httpx.AsyncClient(timeout=30) as client:
        get = flags_of(client, flags_service, tokens)

        async def both_listed() -> list[dict[str, object]] | None:
            response = await get(PROVIDER, status="open", limit=200)
            items: list[dict[str, object]] = response.json()["items"]
            return items if {missing, silent} <= {f["flag_id"] for f in items} else None

        listed = await eventually(both_listed, "both flags on the provider's list")

    page = await browser.new_page()
    errors = script_errors(page)
    logged = console_errors(page)
    token = tokens.signer.mint(agency_id=PROVIDER, scopes=["flags:read"])
    opened = await page.goto(f"{flags_service.url}/dashboard#token={token}")
    await page.wait_for_selector(
        'body[data-state="ready"], body[data-state="error"]',
        state="attached",
        timeout=LOAD_TIMEOUT_MS,
    )
    assert await page.get_attribute("body", "data-state") == "ready", await page.content()
    rows = await page.eval_on_selector_all(
        '[data-testid="table-flags"] tbody tr',
        """rows => rows.map(r => ({
            id: r.dataset.testid.replace('flag-', ''),
            title: r.querySelector('[data-testid=title]').textContent,
            rationale: r.querySelector('[data-testid=rationale]').textContent,
            overdue: r.querySelector('[data-testid=overdue]').textContent,
        }))""",
    )
    # Exactly the API's list for this agency, in its order (most overdue first).
    assert [r["id"] for r in rows] == [f["flag_id"] for f in listed]
    ids = [r["id"] for r in rows]
    assert ids.index(missing) < ids.index(silent), "the longer overdue comes first"
    shown = {r["id"]: r for r in rows}
    api = {f["flag_id"]: f for f in listed}
    assert shown[missing]["title"] == api[missing]["title"] == "Missing episode"
    assert shown[missing]["rationale"] == api[missing]["rationale"]
    assert shown[missing]["overdue"] == "3 days"
    assert await page.get_attribute('[data-testid="flag-count"]', "data-value") == str(len(rows))
    # The token left the address bar once read; nothing went wrong in the script, and
    # the page's Content Security Policy refused nothing it needed.
    assert "token=" not in page.url
    assert errors == []
    assert logged == []
    await assert_policy_enforced(page, opened)
