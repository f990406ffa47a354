"""From a flag to its trace: the link `journey run` prints, so an operator can click from a
flag to the partner's request that caused it, and `journey trace`, which prints a trace as
a tree in the terminal (a Jaeger built from its Go module has no UI).

Every record on journey.dropoffs carries a W3C `traceparent`; its trace id opens the trace
in Jaeger. A flag raised by a deadline sits in the clock tick's trace; one raised by an
event a partner posted (an immediate rule) sits in that request's trace, under the API's
server span. The link printed is to the newest flag of the second kind that Jaeger holds.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import urllib.parse
import urllib.request
from typing import Any

from aiokafka import TopicPartition

from journey_platform.contracts import Contracts
from journey_platform.kafka import read_to_end
from journey_platform.settings import find_schemas_dir

DROPOFFS = "journey.dropoffs"
RAISED = b"uk.nrm.dropoff.raised"


def trace_id_of(traceparent: str) -> str:
    """The trace id (32 hex digits) of a W3C traceparent `00-<trace>-<span>-<flags>`."""
    return traceparent.split("-")[1]


def jaeger_trace(jaeger_url: str, trace_id: str) -> dict[str, Any] | None:
    """The trace as Jaeger's HTTP query API gives it, or None if Jaeger does not hold it."""
    try:
        with urllib.request.urlopen(f"{jaeger_url}/api/traces/{trace_id}", timeout=5) as answer:  # noqa: S310
            traces = json.load(answer).get("data") or []
    except (OSError, ValueError):  # HTTPError (a 404: no such trace) is an OSError
        return None
    return traces[0] if traces else None


def find_flag_traces(jaeger_url: str, flag_id: str) -> list[str]:
    """The trace ids of the flag's publications (raised, resolved, retracted), oldest
    first: the processor's `journey.dropoffs send` span has an event per flag it published,
    carrying the flag id (Jaeger searches span events' attributes too)."""
    query = urllib.parse.urlencode(
        {
            "service": "journey-processor",
            "operation": "journey.dropoffs send",
            "tags": json.dumps({"journey.flag_id": flag_id}),
            "lookback": "7d",
            "limit": 20,
        }
    )
    try:
        with urllib.request.urlopen(f"{jaeger_url}/api/traces?{query}", timeout=10) as answer:  # noqa: S310
            traces = json.load(answer).get("data") or []
    except (OSError, ValueError):
        return []
    traces.sort(key=lambda t: min(s["startTime"] for s in t["spans"]))
    return [str(t["traceID"]) for t in traces]


def tree(trace: dict[str, Any]) -> list[str]:
    """The trace as indented lines, parents before children in time order: service,
    operation, duration, and the attributes an operator reads (never a personal value:
    spans carry none)."""
    services = {pid: p["serviceName"] for pid, p in trace.get("processes", {}).items()}
    spans = {s["spanID"]: s for s in trace["spans"]}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for span in spans.values():
        parents = [r["spanID"] for r in span.get("references", ()) if r["refType"] == "CHILD_OF"]
        parent = parents[0] if parents and parents[0] in spans else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in sorted(children.get(parent, ()), key=lambda s: s["startTime"]):
            tags = {t["key"]: t["value"] for t in span.get("tags", ())}
            shown = " ".join(f"{k}={tags[k]}" for k in SHOWN if k in tags)
            links = sum(r["refType"] == "FOLLOWS_FROM" for r in span.get("references", ()))
            lines.append(
                f"{'  ' * depth}{services.get(span['processID'], '?'):18} "
                f"{span['operationName']}  {span['duration'] / 1000:.1f} ms"
                + (f"  [{shown}]" if shown else "")
                + (f"  (+{links} linked)" if links else "")
            )
            for fields in events(span):  # a send span's flags, one line each
                shown = " ".join(f"{k}={fields[k]}" for k in SHOWN if k in fields)
                lines.append(f"{'  ' * (depth + 1)}· {fields.get('event', 'event')}  [{shown}]")
            walk(span["spanID"], depth + 1)

    walk(None, 0)
    return lines


def events(span: dict[str, Any]) -> list[dict[str, Any]]:
    """The span's events (Jaeger's "logs"), each as its fields by key ("event": its name)."""
    return [{f["key"]: f["value"] for f in log.get("fields", ())} for log in span.get("logs", ())]


# The attributes `journey trace` shows beside each span (and each flag a send span holds).
SHOWN = (
    "http.status_code",
    "http.response.status_code",
    "messaging.destination.name",
    "messaging.message.id",
    "messaging.batch.message_count",
    "journey.rule_id",
    "journey.flag_id",
)


def command(args: Any) -> int:
    """`journey trace TRACE_ID`, or `journey trace --flag FLAG_ID`: every trace of the
    flag, from the request that raised it to the one that resolved it."""
    jaeger_url = args.jaeger or os.environ.get("JAEGER_URL")
    if not jaeger_url:
        print("journey trace: set JAEGER_URL or pass --jaeger URL", file=sys.stderr)
        return 2
    trace_ids = [args.trace_id] if args.trace_id else []
    if args.flag:
        trace_ids = find_flag_traces(jaeger_url, args.flag)
        if not trace_ids:
            print(f"journey trace: Jaeger holds no trace of flag {args.flag}", file=sys.stderr)
            return 1
    if not trace_ids:
        print("journey trace: give a trace id or --flag FLAG_ID", file=sys.stderr)
        return 2
    for trace_id in trace_ids:
        trace = jaeger_trace(jaeger_url, trace_id)
        if trace is None:
            print(f"journey trace: Jaeger holds no trace {trace_id}", file=sys.stderr)
            return 1
        print(f"trace {trace_id}  ({jaeger_url}/trace/{trace_id})")
        print("\n".join(tree(trace)))
    return 0


def span_kinds(trace: dict[str, Any]) -> set[str]:
    return {
        str(tag["value"])
        for span in trace.get("spans", ())
        for tag in span.get("tags", ())
        if tag.get("key") == "span.kind"
    }


async def raised_flag_traces(bootstrap: str, *, limit: int = 500) -> list[str]:
    """The trace ids of the `limit` newest raised flags on journey.dropoffs, newest first.

    Newest, because Jaeger's memory store keeps only its last MAX_TRACES traces: after a
    2,000-journey run the first flags' traces are long gone ("none found" there).
    """
    count = Contracts.load(find_schemas_dir()).topics[DROPOFFS].partitions
    partitions = [TopicPartition(DROPOFFS, p) for p in range(count)]
    raised = []
    async for batch in read_to_end(bootstrap, partitions):
        for record in batch:
            headers = dict(record.headers or ())
            if headers.get("ce_type") == RAISED and "traceparent" in headers:
                raised.append((record.timestamp, trace_id_of(headers["traceparent"].decode())))
    oldest_first = list(dict.fromkeys(trace_id for _, trace_id in sorted(raised)))
    return oldest_first[::-1][:limit]


def flag_trace_link(bootstrap: str, jaeger_url: str, *, within: float = 30) -> str | None:
    """A Jaeger link to the trace of a flag raised by a partner's request, or None.

    Many flags are raised by the clock, not by a request; their traces start at the
    simulator's tick and have no server span, so the search goes on to the next one."""
    candidates = asyncio.run(raised_flag_traces(bootstrap))
    deadline = time.monotonic() + within  # the last spans reach Jaeger a few seconds late
    while candidates and time.monotonic() < deadline:
        for trace_id in candidates:
            trace = jaeger_trace(jaeger_url, trace_id)
            if trace is not None and "server" in span_kinds(trace):
                return f"{jaeger_url}/trace/{trace_id}"
            if time.monotonic() >= deadline:
                break
        time.sleep(1)
    return None
