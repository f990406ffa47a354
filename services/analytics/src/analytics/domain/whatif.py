"""What-if: replay the journey history under other thresholds, with the processor's core.

Time is data here (the processor's clock is the ticks in the log), so a rule change can be
tried on history before it is deployed. The stored journey events go through the
processor's own engine-free core (`journey_processor.core`, not the oracle), interleaved
with the clock's ticks in the order a live system saw them (events by when they were
recorded, ticks by their time), once with the catalogue under the overridden thresholds.
Each flag's last state is compared with what was actually flagged, flag by flag, by
(journey, rule, the event that started it): added, removed, raised earlier or later
(its due time moved). Counts per rule and the journeys affected are disclosure-controlled
like every answer (counts under the threshold hidden; among a rule's actual, what-if,
added and removed counts, which follow from each other, never one hidden alone).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from analytics.domain.disclosure import hidden_count, suppress
from analytics.domain.folding import RAISED, RESOLVED, fold_flag
from journey_platform.envelope import Event
from journey_processor.core.events import JourneyEvent
from journey_processor.core.processor import JourneyProcessor
from journey_processor.core.rulebook import RuleBook
from journey_processor.core.rules.catalogue import Within

FlagKey = tuple[str, str, str]  # journey, rule, the event that started it
COUNTS = ("actual", "whatif", "added", "removed", "earlier", "later", "whatif_resolved")
# Of these, any one follows from the other three: actual + added = what-if + removed.
LINKED = ("actual", "whatif", "added", "removed")


@dataclass(frozen=True)
class FlagState:
    """A flag's last state: when it fell due, and whether it is resolved."""

    due_at: datetime
    resolved: bool


def flags_of(events: Iterable[Event]) -> dict[FlagKey, FlagState]:
    """Flags from journey.dropoffs events: each flag's highest sequence stands, retracted
    flags (never drop-offs) left out."""
    folded: dict[str, Any] = {}
    for event in events:
        if event.type in (RAISED, RESOLVED):
            flag_id = event.data["flag_id"]
            folded[flag_id] = fold_flag(folded.get(flag_id), event)
    return {
        (f.journey_id, f.rule_id, f.started_by): FlagState(f.due_at, f.status == "resolved")
        for f in folded.values()
        if f.status != "retracted"
    }


def run_core(events: Sequence[Event], ticks: Sequence[datetime], book: RuleBook) -> list[Event]:
    """Everything the processor's core publishes over this history, under `book`."""
    core = JourneyProcessor(book, lambda _partition, _key: None)
    core.assign(0, [])  # one partition: a replay holds every journey at once
    merged: list[tuple[datetime, int, Event | datetime]] = [(e.recorded_time, 0, e) for e in events]
    merged += [(moment, 1, moment) for moment in ticks]
    merged.sort(key=lambda item: (item[0], item[1]))
    published: list[Event] = []
    for _, _, item in merged:
        if isinstance(item, Event):
            journey_event = JourneyEvent(
                item.id, item.type, item.time, item.recorded_time, item.data
            )
            published += core.apply(0, item.subject, journey_event, None)
        else:
            published += core.tick(0, item)
    return published


def replay(
    events: Sequence[Event], ticks: Sequence[datetime], book: RuleBook
) -> dict[FlagKey, FlagState]:
    """The flags the processor's core raises over this history, under `book`."""
    return flags_of(run_core(events, ticks, book))


@dataclass
class RuleDifference:
    counts: dict[str, int]
    journeys: set[str]


def differences(
    actual: Mapping[FlagKey, FlagState], whatif: Mapping[FlagKey, FlagState]
) -> dict[str, RuleDifference]:
    """Per rule: flags actually raised and raised under the override, added, removed,
    raised earlier or later, resolved under the override; and the journeys that differ."""
    rules: dict[str, RuleDifference] = {}
    for key in actual.keys() | whatif.keys():
        journey, rule, _ = key
        found = rules.setdefault(rule, RuleDifference(dict.fromkeys(COUNTS, 0), set()))
        was, now = actual.get(key), whatif.get(key)
        change = _change(was, now)
        found.counts["actual"] += was is not None
        found.counts["whatif"] += now is not None
        found.counts["whatif_resolved"] += now is not None and now.resolved
        if change:
            found.counts[change] += 1
            found.journeys.add(journey)
    return rules


def _change(was: FlagState | None, now: FlagState | None) -> str | None:
    if was is None:
        return "added"
    if now is None:
        return "removed"
    if now.due_at < was.due_at:
        return "earlier"
    if now.due_at > was.due_at:
        return "later"
    return None


def one_way(deployed: Within, whatif: Within) -> frozenset[str]:
    """The differences a new deadline cannot make, by construction. An expectation flag
    is raised when the expected event has not come by the deadline: with a longer one
    (in the same unit), every flag it raises the shorter one raised too, and no flag falls
    due earlier; with a shorter one, the reverse. Mixed units are not compared."""
    before = {unit: amount for unit, amount in asdict(deployed).items() if amount}
    after = {unit: amount for unit, amount in asdict(whatif).items() if amount}
    if before.keys() != after.keys() or len(before) != 1:
        return frozenset()
    [unit] = before
    if after[unit] >= before[unit]:
        return frozenset(
            {"added", "earlier"} | ({"removed", "later"} if after == before else set())
        )
    return frozenset({"removed", "later"})


def answer(
    rules: Mapping[str, RuleDifference],
    *,
    threshold: int,
    structural: Mapping[str, frozenset[str]] | None = None,
) -> dict[str, Any]:
    """The what-if JSON, disclosure-controlled: counts under the threshold hidden (zeros
    too, except the zeros by construction in `structural`, per rule: see `one_way`), and
    among the linked counts of a rule never exactly one unknown hidden."""
    rows = []
    for rule_id in sorted(rules):
        counts = rules[rule_id].counts
        # A declared zero that is not zero is treated as any count.
        zeros = {name for name in (structural or {}).get(rule_id, ()) if counts[name] == 0}
        shown = {name: 0 if name in zeros else suppress(counts[name], threshold) for name in COUNTS}
        hidden = [name for name in LINKED if shown[name] is None]
        visible = [name for name in LINKED if shown[name] is not None and name not in zeros]
        if len(hidden) == 1 and visible:
            shown[min(visible, key=lambda name: counts[name])] = None
        rows.append({"rule_id": rule_id, **shown})
    affected = set().union(*(r.journeys for r in rules.values())) if rules else set()
    return {
        "threshold": threshold,
        "rules": rows,
        "journeys_affected": suppress(len(affected), threshold),
        "labels": {
            **{name: hidden_count(threshold, "flags") for name in COUNTS},
            "journeys_affected": hidden_count(threshold, "journeys"),
        },
    }
