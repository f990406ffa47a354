"""The tables each partner service declares: what partners may record on a collection
(`RecordSpec`) and the collection itself, with the domain rules each record obeys.
endpoints.py turns them into write routes and reads.py into read routes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from journey_api.domain.records import Action, Actor, Resource
from journey_api.responses import RecordKind

Attributes = dict[str, Any]
Rule = Callable[[Resource, Attributes, Actor], None]
Derive = Callable[[Resource, Attributes, Actor], Attributes]
FollowUps = Callable[[Resource, Attributes], Sequence[tuple[Action, Attributes]]]
Participants = Callable[[Resource, Attributes], Iterable[str]]


@dataclass(frozen=True)
class RecordSpec:
    """One kind of fact partners may record about a resource of a journey."""

    action: Action
    path: str  # relative to the collection, "" for the collection itself (creation)
    summary: str
    resource_field: str | None  # the event field that carries the resource id, if any
    creates: bool = False  # True: mints the resource; the body names the journey
    new_journey: bool = False  # with creates: the journey is new too (an anonymous report)
    api_only: Mapping[str, tuple[Any, Any]] = field(
        default_factory=dict
    )  # body fields kept off the event
    # Event fields the API declares more strictly (required where the event has them optional)
    stricter: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    minted: tuple[str, ...] = ()  # further ids the server mints, e.g. a stay id
    derived: tuple[str, ...] = ()  # event fields the server works out (`derive`)
    derive: Derive | None = None
    rule: Rule | None = None
    follow_ups: FollowUps | None = None
    participants: Participants | None = None  # agencies that join the journey with this record

    def record_kind(self) -> RecordKind:
        return RecordKind(self.action, self.resource_field, self.api_only)


@dataclass(frozen=True)
class Collection:
    """A resource collection, e.g. /v1/support-cases, and what may be recorded on it."""

    path: str  # "/v1/support-cases"
    name: str  # "support case"
    kind: str  # the kind of the creating record
    read_scope: str
    specs: Sequence[RecordSpec]
    summarise: Callable[[Resource], Attributes] | None = None
    tag: str = field(default="")
