"""The analytics tables as flat rows, written as CSV or Parquet.

Each export is the same disclosure-controlled answer as the JSON endpoint, flattened. A
hidden cell says so: in CSV, the answer's label for that field, such as "suppressed
(fewer than 10 journeys, or would reveal one)" (the convention of published statistics,
whose CSVs carry "[c]"); in Parquet, a typed null, with the labels in the file's
metadata (`hidden`), never a zero.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

FORMATS = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}

Row = dict[str, Any]
Labels = Mapping[str, str]


def funnel_rows(answer: Mapping[str, Any]) -> tuple[list[Row], dict[str, Any]]:
    rows = [
        # The first step has nothing to convert from: its empty conversion hides nothing.
        {**step, UNLABELLED: ("conversion",) if step["conversion_from"] is None else ()}
        for step in answer["steps"]
    ]
    return rows, {
        "step": pa.string(),
        "label": pa.string(),
        "count": pa.int64(),
        "conversion": pa.float64(),
        "conversion_from": pa.string(),
    }


def dropoff_rows(answer: Mapping[str, Any]) -> tuple[list[Row], dict[str, Any]]:
    rows = [
        {"by": answer["by"], **row, "journeys_in_period": answer["journeys_in_period"]}
        for row in [*answer["rows"], answer["total"]]
    ]
    return rows, {
        "by": pa.string(),
        "group": pa.string(),
        "label": pa.string(),
        "raised": pa.int64(),
        "open": pa.int64(),
        "resolved": pa.int64(),
        "journeys": pa.int64(),
        "median_days_to_resolution": pa.float64(),
        "median_n_low": pa.int64(),
        "median_n_high": pa.int64(),
        "journeys_in_period": pa.int64(),
    }


def time_to_event_rows(answer: Mapping[str, Any]) -> tuple[list[Row], dict[str, Any]]:
    """One row per curve point, the summary repeated on each (one row if no curve)."""
    summary = {
        k: answer[k] for k in ("measure", "label", "at_risk", "events", "censored", "median_days")
    }
    points = answer["curve"] or [{"days": None, "survival": None}]
    return [{**summary, **point} for point in points], {
        "measure": pa.string(),
        "label": pa.string(),
        "at_risk": pa.int64(),
        "events": pa.int64(),
        "censored": pa.int64(),
        "median_days": pa.float64(),
        "days": pa.float64(),
        "survival": pa.float64(),
    }


def event_log_schema() -> dict[str, Any]:
    return {
        "case_id": pa.string(),
        "activity": pa.string(),
        "timestamp": pa.timestamp("us", tz="UTC"),
    }


UNLABELLED = "__unlabelled__"  # a row's null fields that hide nothing


def _csv_value(row: Row, column: str, labels: Labels) -> Any:
    value = row.get(column)
    if value is None:
        return "" if column in row.get(UNLABELLED, ()) else labels.get(column, "")
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def render(
    rows: Sequence[Row], columns: Mapping[str, Any], fmt: str, labels: Labels | None = None
) -> bytes:
    """`rows` as CSV (header row; a hidden cell holds its label from `labels`) or Parquet
    (typed, nullable; the labels in the schema's metadata)."""
    labels = labels or {}
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(list(columns))
        for row in rows:
            writer.writerow([_csv_value(row, c, labels) for c in columns])
        return out.getvalue().encode()
    if fmt == "parquet":
        metadata = {"hidden": json.dumps(dict(labels))} if labels else None
        schema = pa.schema([(name, kind) for name, kind in columns.items()], metadata=metadata)
        table = pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows], schema)
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return sink.getvalue()
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


class _Drain:
    """A write-only file for pyarrow that hands over what was written so far and keeps
    only its length (pyarrow asks where it is, to note where each row group starts)."""

    closed = False

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.written = 0

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        self.written += len(data)
        return len(data)

    def tell(self) -> int:
        return self.written

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


async def stream(
    batches: AsyncIterator[Sequence[Row]], columns: Mapping[str, Any], fmt: str
) -> AsyncIterator[bytes]:
    """Batches of rows as CSV or Parquet, a chunk per batch (Parquet: a row group each),
    holding one batch at a time. For tables whose cells are never hidden."""
    if fmt == "csv":
        yield render([], columns, "csv")
        async for batch in batches:
            yield render(batch, columns, "csv").split(b"\n", 1)[1]
        return
    if fmt != "parquet":
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    schema = pa.schema(list(columns.items()))
    drain = _Drain()
    with pq.ParquetWriter(pa.PythonFile(drain, mode="w"), schema) as writer:
        async for batch in batches:
            writer.write_table(pa.Table.from_pylist(list(batch), schema))
            yield drain.take()
    yield drain.take()  # the footer
