"""The streamed event log: the cut's cost known from the prefix counts alone, and the
streamed files the same table as one written whole."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.api import files
from analytics.domain.eventlog import Prefixes, build

T = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)
TRACES = st.lists(st.lists(st.sampled_from("abc"), min_size=1, max_size=5), max_size=80)


@settings(max_examples=200, deadline=None)
@given(traces=TRACES, threshold=st.integers(1, 12))
def test_the_summary_from_the_counts_is_what_cutting_each_trace_costs(
    traces: list[list[str]], threshold: int
) -> None:
    prefixes = Prefixes()
    for trace in traces:
        prefixes.add(trace)
    kept = [prefixes.kept(trace, threshold) for trace in traces]

    summary = prefixes.summary(threshold)

    assert summary.dropped_cases == sum(k == 0 for k in kept)
    assert summary.truncated_cases == sum(0 < k < len(t) for k, t in zip(kept, traces, strict=True))
    assert summary.cases == len(traces) - summary.dropped_cases
    assert summary.dropped_events == sum(len(t) - k for k, t in zip(kept, traces, strict=True))
    # Every beginning kept is shared by at least `threshold` journeys.
    for trace, keep in zip(traces, kept, strict=True):
        assert sum(t[:keep] == trace[:keep] for t in traces) >= threshold or keep == 0


async def _batches(
    rows: list[dict[str, Any]], size: int
) -> AsyncIterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def _streamed(rows: list[dict[str, Any]], fmt: str) -> bytes:
    chunks = [c async for c in files.stream(_batches(rows, 7), files.event_log_schema(), fmt)]
    return b"".join(chunks)


def test_streamed_csv_and_parquet_hold_the_rows_written_whole() -> None:
    events = [
        (f"jny_{i:02d}", activity, T + timedelta(days=n))
        for i in range(12)
        for n, activity in enumerate(["uk.nrm.referral.submitted", "uk.nrm.support.accepted"])
    ]
    rows, _ = build(events, threshold=10, key=b"k" * 32)

    as_csv = asyncio.run(_streamed(rows, "csv"))
    as_parquet = asyncio.run(_streamed(rows, "parquet"))

    assert as_csv == files.render(rows, files.event_log_schema(), "csv")
    header = next(csv.reader(io.StringIO(as_csv.decode())))
    assert header == ["case_id", "activity", "timestamp"]
    table = pq.read_table(io.BytesIO(as_parquet))
    assert table.num_rows == 24 and table.to_pylist() == rows
    assert pq.ParquetFile(io.BytesIO(as_parquet)).num_row_groups == 4  # a group per batch
