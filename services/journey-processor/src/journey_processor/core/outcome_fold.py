"""A journey's outcome facts, folded in one event at a time.

The stream processor cannot afford to summarise a journey's whole history on every
record, so it keeps only what an outcome reads (core/outcomes.py `Facts`): the earliest
time of each milestone, the latest times of entering and leaving support, the latest
decisions and the first referral's profile. Each is a min or a max (ties by event id, as
`summarise` breaks them), so the facts are the same whatever order the events came in;
a property test holds the fold to `summarise` over the whole event set.

Times are float seconds since the epoch (UTC), as in the journey state.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from journey_processor.core.codec import Reader, Writer
from journey_processor.core.outcomes import (
    CG,
    DUTY_TO_NOTIFY,
    FIRSTS,
    PROFILE_FIELDS,
    REFERRAL,
    RG,
    SUPPORT_ACCEPTED,
    SUPPORT_ENDED,
    Facts,
    profile_of,
)

# event type -> (index in FIRSTS, required field values) of the firsts it may set
_FIRSTS_OF_TYPE: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
for _index, (_type, _where) in enumerate(FIRSTS):
    _FIRSTS_OF_TYPE.setdefault(_type, []).append((_index, _where))
_LATEST = (RG, CG)
_DESCRIBING = (REFERRAL, DUTY_TO_NOTIFY)

# (time, event id, payload): the latest decision's outcome, or the first referral's profile
Chosen = tuple[float, str, Any]


def _dt(seconds: float | None) -> datetime | None:
    return None if seconds is None else _moment(seconds)


@lru_cache(maxsize=1 << 16)
def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class OutcomeFold:
    """The outcome facts of the events folded in so far."""

    __slots__ = ("describing", "firsts", "last_accepted", "last_ended", "latest")

    def __init__(self) -> None:
        self.firsts: list[float | None] = [None] * len(FIRSTS)
        self.last_accepted: float | None = None
        self.last_ended: float | None = None
        self.latest: dict[str, Chosen] = {}  # RG, CG -> the latest decision by (time, id)
        self.describing: dict[str, Chosen] = {}  # referral, DTN -> the first, by (time, id)

    def fold(self, event_type: str, time: float, event_id: str, data: Mapping[str, Any]) -> bool:
        """Fold one event in; whether any fact changed."""
        changed = False
        firsts = self.firsts
        for index, where in _FIRSTS_OF_TYPE.get(event_type, ()):
            known = firsts[index]
            if (known is None or time < known) and all(data.get(k) == v for k, v in where.items()):
                firsts[index] = time
                changed = True
        if event_type == SUPPORT_ACCEPTED:
            if self.last_accepted is None or self.last_accepted < time:
                self.last_accepted, changed = time, True
        elif event_type == SUPPORT_ENDED:
            if self.last_ended is None or self.last_ended < time:
                self.last_ended, changed = time, True
        elif event_type in _LATEST:
            known_latest = self.latest.get(event_type)
            if known_latest is None or known_latest[:2] < (time, event_id):
                self.latest[event_type] = (time, event_id, data.get("outcome"))
                changed = True
        elif event_type in _DESCRIBING:
            known_first = self.describing.get(event_type)
            if known_first is None or (time, event_id) < known_first[:2]:
                self.describing[event_type] = (time, event_id, profile_of(data))
                changed = True
        return changed

    def facts(self) -> Facts:
        described = self.describing
        return Facts(
            firsts=[_dt(t) for t in self.firsts],
            last_accepted=_dt(self.last_accepted),
            last_ended=_dt(self.last_ended),
            latest={t: (_moment(c[0]), c[2]) for t, c in self.latest.items()},
            referral=described[REFERRAL][2] if REFERRAL in described else None,
            notified=described[DUTY_TO_NOTIFY][2] if DUTY_TO_NOTIFY in described else None,
        )

    # -- persistence: positional lists -------------------------------------------------

    def encode(self, out: Writer) -> list[Any]:
        def chosen(found: Chosen | None, payload: Any) -> list[Any] | None:
            return None if found is None else [out.time(found[0]), out.id(found[1]), payload]

        latest = [self.latest.get(t) for t in _LATEST]
        describing = [self.describing.get(t) for t in _DESCRIBING]
        return [
            [out.maybe(t) for t in self.firsts],
            out.maybe(self.last_accepted),
            out.maybe(self.last_ended),
            [chosen(c, c[2]) if c else None for c in latest],
            [chosen(c, _profile_out(c[2])) if c else None for c in describing],
        ]

    @classmethod
    def decode(cls, raw: list[Any], read: Reader) -> OutcomeFold:
        fold = cls()
        firsts, accepted, ended, latest, describing = raw
        fold.firsts = [read.maybe(t) for t in firsts]
        fold.last_accepted, fold.last_ended = read.maybe(accepted), read.maybe(ended)
        for event_type, c in zip(_LATEST, latest, strict=True):
            if c is not None:
                fold.latest[event_type] = (read.time(c[0]), read.id(c[1]), c[2])
        for event_type, c in zip(_DESCRIBING, describing, strict=True):
            if c is not None:
                fold.describing[event_type] = (read.time(c[0]), read.id(c[1]), _profile_in(c[2]))
        return fold


def _profile_out(profile: dict[str, Any]) -> list[Any] | dict[str, Any]:
    """A complete profile as its values in PROFILE_FIELDS order, otherwise as it is."""
    if len(profile) == len(PROFILE_FIELDS):
        return [profile[f] for f in PROFILE_FIELDS]
    return profile


def _profile_in(stored: list[Any] | dict[str, Any]) -> dict[str, Any]:
    return dict(zip(PROFILE_FIELDS, stored, strict=True)) if isinstance(stored, list) else stored
