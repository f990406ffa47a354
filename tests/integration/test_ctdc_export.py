"""`GET /v1/exports/ctdc.{fmt}` on the real stack: the dashboard's 80 journeys in the
analytics database, exported k-anonymised; the loss reported, the export audited, and
only the export scope and a k no lower than the disclosure threshold accepted."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pyarrow.parquet as pq
import pytest

from analytics.cli import export as ctdc_cli
from analytics.domain.ctdc import COLUMNS, QUASI_IDENTIFIERS
from tests.integration.analytics_service import analytics_service, last_audit
from tests.integration.conftest import Servers
from tests.integration.dashboard_data import JOURNEYS, fill
from tests.integration.services import RunningService, Tokens

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def analytics(servers: Servers, kafka: str, tokens: Tokens) -> AsyncIterator[RunningService]:
    async with analytics_service(servers, kafka, tokens, "analytics_ctdc") as service:
        await fill(service.database_url)
        # The dashboard's journeys share one profile: spread them over 4 nationalities and
        # 3 age bands (12 combinations of about 7: each rarer than 11 as recorded).
        conn = await asyncpg.connect(service.database_url)
        try:
            await conn.execute(
                """UPDATE journey_outcomes SET
                   nationality_group = (ARRAY['albania', 'vietnam', 'uk', 'eritrea'])
                       [1 + abs(hashtext(journey_id)) % 4],
                   age_band = (ARRAY['18-24', '25-34', '35-44'])
                       [1 + abs(hashtext(journey_id || 'age')) % 3]"""
            )
        finally:
            await conn.close()
        yield service


def exporter(tokens: Tokens, scopes: list[str]) -> dict[str, str]:
    return {"Authorization": tokens.headers("nrm-analysts", scopes=scopes)["Authorization"]}


async def get(service: RunningService, headers: dict[str, str], path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=service.url, headers=headers, timeout=60) as client:
        return await client.get(path)


async def test_every_combination_is_shared_by_eleven_journeys(
    analytics: RunningService, tokens: Tokens
) -> None:
    response = await get(
        analytics, exporter(tokens, ["analytics:export"]), "/v1/exports/ctdc.csv?k=11"
    )

    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert tuple(rows[0]) == COLUMNS
    combinations = Counter(tuple(r[q.name] for q in QUASI_IDENTIFIERS) for r in rows)
    assert combinations and all(size >= 11 for size in combinations.values())
    suppressed = int(response.headers["X-Rows-Suppressed"])
    assert len(rows) + suppressed == JOURNEYS
    assert int(response.headers["X-Cells-Generalised"]) > 0  # 80 journeys: not as recorded
    levels = json.loads(response.headers["X-Generalisation-Levels"])
    assert set(levels) == {q.name for q in QUASI_IDENTIFIERS}
    # No journey id, no date: the dashboard's ids are "dashboard-NNN", its dates 2026-...
    assert "dashboard-" not in response.text
    assert not re.search(r"\d{4}-\d{2}-\d{2}", response.text)

    audited = await last_audit(analytics.database_url, "export:ctdc")
    assert audited is not None
    assert audited["resource_id"] == (
        f"format=csv;period={{'from': None, 'to': None}};k=11;rows={len(rows)};"
        f"suppressed={suppressed}"
    )


async def test_the_parquet_export_holds_the_same_rows(
    analytics: RunningService, tokens: Tokens
) -> None:
    headers = exporter(tokens, ["analytics:export"])
    as_csv = await get(analytics, headers, "/v1/exports/ctdc.csv")
    as_parquet = await get(analytics, headers, "/v1/exports/ctdc.parquet")

    table = pq.read_table(io.BytesIO(as_parquet.content))
    assert table.column_names == list(COLUMNS)
    assert table.num_rows == len(list(csv.DictReader(io.StringIO(as_csv.text))))
    assert table.schema.field("flagsIdentification").type == "int64"


async def test_a_k_below_the_threshold_and_a_read_only_token_are_refused(
    analytics: RunningService, tokens: Tokens
) -> None:
    low = await get(analytics, exporter(tokens, ["analytics:export"]), "/v1/exports/ctdc.csv?k=5")
    read_only = await get(analytics, exporter(tokens, ["analytics:read"]), "/v1/exports/ctdc.csv")

    assert low.status_code == 422
    assert low.headers["content-type"] == "application/problem+json"
    assert "at least the disclosure threshold, 10" in low.json()["detail"]
    assert read_only.status_code == 403


async def test_journey_export_ctdc_writes_the_file_and_says_what_was_lost(
    analytics: RunningService,
    tokens: Tokens,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = exporter(tokens, ["analytics:read", "analytics:export"])["Authorization"][7:]
    # The command mints from .devstack's key; this service trusts the tests' signer.
    monkeypatch.setattr(ctdc_cli, "development_token", lambda export: token)
    out = tmp_path / "ctdc.csv"
    args = argparse.Namespace(
        k=11, format="csv", out=str(out), url=analytics.url, start=None, end=None
    )

    assert await asyncio.to_thread(ctdc_cli.run, args) == 0  # a blocking client

    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    said = capsys.readouterr().err
    suppressed = JOURNEYS - len(rows)
    assert f"k = 11: rows suppressed {suppressed}, cells generalised " in said
    assert "citizenship" in said and tuple(rows[0]) == COLUMNS
