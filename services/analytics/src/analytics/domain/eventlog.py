"""The event log for process-mining tools: one row per journey event (case, activity, time).

It is record-level, so it is made safer before it leaves:

- case ids are re-pseudonymised with a random key made for this export and then thrown
  away (HMAC-SHA256), so they link neither to the stream's journey ids nor to another
  export's case ids;
- timestamps are cut to the day;
- a rare path is as good as a name, so each journey's trace (its sequence of activities)
  is cut to its longest beginning that at least `threshold` journeys share: a common
  path goes out whole, a rare one up to where it becomes rare, and a journey whose very
  first activity is rare not at all. (Dropping every rare trace whole, the simpler rule,
  left out half the journeys of a simulated cohort and every long one: most full traces
  are unique.) How many journeys were cut short or left out, and how many events that
  cost, is said with the export.

Export needs the `analytics:export` scope, and every export is audited.

It streams, in constant memory for any number of events (memory bounded by the number of
distinct path beginnings, which the vocabulary of activities keeps small, not by rows):
two passes over one database snapshot, each a server-side cursor read in batches, ordered
by journey so one journey's trace is in hand at a time. The first counts how many
journeys begin with each path (a trie, `Prefixes`), from which how many journeys will be
cut or left out is known before the first row goes; the second cuts each trace and writes
its rows as they come. Rows go out grouped by case in an order random for each export
(by a hash of the journey id with a fresh salt, sorted by the database), so the order says
nothing about the journeys.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

COLUMNS = ("case_id", "activity", "timestamp")
Trace = list[tuple[str, datetime]]  # (activity, occurred at), in time order


@dataclass(frozen=True)
class Summary:
    cases: int  # journeys exported (whole or cut short)
    truncated_cases: int  # journeys whose rare remainder was cut
    dropped_cases: int  # journeys left out altogether (a rare first activity)
    dropped_events: int


class Prefixes:
    """How many journeys begin with each path: a trie of activities, a count per node."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[int, str], int] = {}  # (parent, activity) -> node
        self.parent: list[int] = []
        self.shared: list[int] = []  # journeys whose trace passes through the node
        self.ends: list[int] = []  # journeys whose trace ends there

    def add(self, activities: Iterable[str]) -> None:
        node = -1
        for activity in activities:
            child = self.nodes.get((node, activity))
            if child is None:
                child = self.nodes[(node, activity)] = len(self.parent)
                self.parent.append(node)
                self.shared.append(0)
                self.ends.append(0)
            self.shared[child] += 1
            node = child
        if node >= 0:
            self.ends[node] += 1

    def kept(self, activities: Iterable[str], threshold: int) -> int:
        """How many of a trace's events go out: its longest beginning that `threshold`
        journeys share (a path unknown here, counted in another snapshot, goes nowhere)."""
        node, keep = -1, 0
        for activity in activities:
            child = self.nodes.get((node, activity))
            if child is None or self.shared[child] < threshold:
                break
            node, keep = child, keep + 1
        return keep

    def summary(self, threshold: int) -> Summary:
        """What the cut will cost, from the counts alone (before any row is written)."""
        depth: list[int] = []
        keep: list[int] = []  # a parent is always numbered before its children
        journeys = truncated = dropped = dropped_events = 0
        for node, parent in enumerate(self.parent):
            depth.append(1 + (depth[parent] if parent >= 0 else 0))
            shared = self.shared[node] >= threshold
            keep.append(depth[node] if shared else (keep[parent] if parent >= 0 else 0))
            ending = self.ends[node]
            journeys += ending
            truncated += ending if 0 < keep[node] < depth[node] else 0
            dropped += ending if keep[node] == 0 else 0
            dropped_events += ending * (depth[node] - keep[node])
        return Summary(journeys - dropped, truncated, dropped, dropped_events)


def case_rows(
    journey_id: str, trace: Trace, prefixes: Prefixes, *, threshold: int, key: bytes
) -> list[dict[str, Any]]:
    """A journey's rows: a fresh pseudonym, its trace cut, each time cut to the day."""
    keep = prefixes.kept((activity for activity, _ in trace), threshold)
    case_id = hmac.new(key, journey_id.encode(), hashlib.sha256).hexdigest()[:20]
    return [
        {
            "case_id": case_id,
            "activity": activity,
            "timestamp": at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0),
        }
        for activity, at in trace[:keep]
    ]


def build(
    events: Sequence[tuple[str, str, datetime]], *, threshold: int, key: bytes | None = None
) -> tuple[list[dict[str, Any]], Summary]:
    """(journey id, activity, occurred at), ordered by journey then time -> the export, in
    memory (what analytics.adapters.eventlog.rows streams from the database)."""
    key = key or secrets.token_bytes(32)
    traces = [(j, [(a, t) for _, a, t in group]) for j, group in groupby(events, lambda e: e[0])]
    prefixes = Prefixes()
    for _, trace in traces:
        prefixes.add(activity for activity, _ in trace)
    rows = [
        row
        for journey_id, trace in traces
        for row in case_rows(journey_id, trace, prefixes, threshold=threshold, key=key)
    ]
    rows.sort(key=lambda r: str(r["case_id"]))
    return rows, prefixes.summary(threshold)
