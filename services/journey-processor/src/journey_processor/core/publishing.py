"""What a journey has published, and the changes to publish next.

Each flag's last published state ([due, resolved_at, resolution, resolved_by, sequence])
and the outcome record's sequence number. The outcome record itself is not stored: it is
a function of the outcome facts and the published flags, rendered again when needed.
Event ids are uuid5 over the journey, rule, starting event and sequence number, so a
re-run publishes the same ids and consumers can de-duplicate.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from journey_processor.core import codec
from journey_processor.core.instances import Verdict
from journey_processor.core.outcome_fold import OutcomeFold
from journey_processor.core.outcomes import record
from journey_processor.core.rulebook import RuleBook
from journey_processor.core.rules.catalogue import Rule

NAMESPACE = uuid.UUID("6f1c1a52-8d0e-4a51-9d57-5bd2a43c7a10")
RETRACTED = "retracted"
_UNKNOWN: dict[str, Any] = {}  # the outcome before a reload, until rendered again


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class Dropoff:
    """A flag raised or resolved: the body and envelope of a journey.dropoffs event."""

    event_id: str
    kind: str  # "raised" or "resolved"
    flag_id: str
    rule: Rule
    started_by: str
    due_at: datetime
    resolved_at: datetime | None = None
    resolution: str | None = None
    resolved_by: str | None = None
    sequence: int = 0  # this flag's events counted from 0: the highest is its state

    @property
    def time(self) -> datetime:
        return self.resolved_at if self.resolved_at is not None else self.due_at


@dataclass
class Changes:
    dropoffs: list[Dropoff] = field(default_factory=list)
    outcome: dict[str, Any] | None = None  # set when the outcome record changed
    outcome_id: str | None = None
    duplicate: bool = False


class Publisher:
    """The published half of a journey's state."""

    now: float
    progress: OutcomeFold

    def __init__(self, journey_id: str) -> None:
        self.journey_id = journey_id
        # (rule id, start id) -> [due, resolved_at, resolution, resolved_by, sequence]
        self.published: dict[tuple[str, str], list[Any]] = {}
        self.described = False  # an event a rule or the outcome reads has come
        self.outcome_seq = 0
        self._outcome: dict[str, Any] | None = None

    # -- the outcome record ------------------------------------------------------------

    @property
    def outcome(self) -> dict[str, Any] | None:
        self.remember_outcome()
        return self._outcome

    def remember_outcome(self) -> None:
        """Render the outcome as it stands, before anything it reads changes."""
        if self._outcome is _UNKNOWN:
            self._outcome = self._render()

    def renew_outcome(self, changes: Changes) -> None:
        outcome = self._render()
        if outcome != self._outcome:
            self._outcome, self.outcome_seq = outcome, self.outcome_seq + 1
            changes.outcome = outcome
            changes.outcome_id = self._event_id("outcome", self.outcome_seq)

    def _render(self) -> dict[str, Any]:
        published = self.published.items()
        outcome = record(self.progress.facts(), [key[0] for key, p in published if p[2] is None])
        outcome["flags_raised"] = sum(1 for _, p in published if p[2] != RETRACTED)
        return outcome

    # -- flags -------------------------------------------------------------------------

    def transitions(
        self, rule: Rule, started_by: str, before: list[Any] | None, now: Verdict | None
    ) -> list[Dropoff]:
        """The dropoff events that take a flag from what was published to `now`."""
        out: list[Dropoff] = []
        key = (rule.id, started_by)

        def emit(due: float, at: float | None, why: str | None, by: str | None) -> None:
            seq = self.published[key][4] + 1 if key in self.published else 0
            self.published[key] = [due, at, why, by, seq]
            out.append(self._dropoff(rule, started_by, [due, at, why, by, seq]))

        was_open = before is not None and before[2] is None
        was_flag = before is not None and before[2] != RETRACTED
        moved = now is not None and before is not None and before[0] != now.due
        if was_flag and (now is None or moved):
            # Evidence known in time, or a condition, arrived after the flag was raised;
            # or the deadline moved (the journey's nation became known).
            assert before is not None
            emit(before[0], max(self.now, before[0]), RETRACTED, None)
            was_flag = was_open = False
        if now is None:
            return out
        if not was_flag:
            emit(now.due, None, None, None)
            was_open = True
        if now.resolution is not None:
            current = self.published[key]
            if was_open or current[1:4] != [now.resolved_at, now.resolution, now.resolved_by]:
                emit(now.due, now.resolved_at, now.resolution, now.resolved_by)
        return out

    def _event_id(self, *parts: object) -> str:
        return codec.uuid5(NAMESPACE, "|".join([self.journey_id, *map(str, parts)]))

    def _dropoff(self, rule: Rule, started_by: str, published: list[Any]) -> Dropoff:
        due, at, why, by, seq = published
        return Dropoff(
            event_id=self._event_id(rule.id, started_by, seq),
            kind="raised" if why is None else "resolved",
            flag_id=self._event_id("flag", rule.id, started_by),
            rule=rule,
            started_by=started_by,
            due_at=_dt(due),
            resolved_at=None if at is None else _dt(at),
            resolution=why,
            resolved_by=by,
            sequence=seq,
        )

    # -- reading back ------------------------------------------------------------------

    def latest(self, book: RuleBook) -> Changes:
        """The last published event of every flag and the current outcome, with the ids
        they were first published with: for republishing after a crash may have lost them.
        """
        changes = Changes(outcome=self.outcome)
        if changes.outcome is not None:
            changes.outcome_id = self._event_id("outcome", self.outcome_seq)
        for (rule_id, started_by), published in self.published.items():
            changes.dropoffs.append(self._dropoff(book.by_id[rule_id], started_by, published))
        return changes

    def flags(self) -> list[tuple[str, str, datetime, datetime | None, str | None]]:
        """Published flags not retracted: (rule, started_by, due, resolved_at, resolution)."""
        found = []
        for (rule_id, started_by), (due, at, why, _, _) in self.published.items():
            if why != RETRACTED:
                resolved = None if at is None else _dt(at)
                found.append((rule_id, started_by, _dt(due), resolved, why))
        return sorted(found)

    # -- persistence -------------------------------------------------------------------

    def encode_published(self, out: codec.Writer) -> dict[str, list[list[Any]]]:
        by_rule: dict[str, list[list[Any]]] = {}
        for (rule_id, started_by), (due, at, why, by, seq) in self.published.items():
            resolved_by = None if by is None else out.id(by)
            flag = [out.id(started_by), out.time(due), out.maybe(at), out.word(why), resolved_by]
            by_rule.setdefault(rule_id, []).append([*flag, seq])
        return by_rule

    def decode_published(
        self, raw: dict[str, list[list[Any]]], read: codec.Reader, described: bool, seq: int
    ) -> None:
        for rule_id, flags in raw.items():
            for started_by, due, at, why, by, flag_seq in flags:
                resolved_by = None if by is None else read.id(by)
                flag = [read.time(due), read.maybe(at), read.word(why), resolved_by, flag_seq]
                self.published[rule_id, read.id(started_by)] = flag
        self.described, self.outcome_seq = described, seq
        self._outcome = _UNKNOWN if described else None
