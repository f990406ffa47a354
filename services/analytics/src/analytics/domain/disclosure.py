"""Statistical disclosure control: what the analytics may publish about small groups.

A count of people below the threshold (zeros included: "nobody with this profile was
referred from this region" is itself a disclosure) is suppressed, shown as null. A
structural zero is not: a cell that is zero by construction (a flag of a rule that nothing
resolves is never resolved; a child is never the subject of a Duty to Notify report) tells
nobody anything, so it is published as 0, and it protects nothing when hidden. Each table
declares its structural zeros; a declared one that is not zero is treated as any cell.

Where a table also publishes totals, one suppressed cell could be recovered by
subtraction, so whenever exactly one cell of a total-and-parts relation is hidden a second
one is hidden too (secondary suppression), and so is one more while the hidden parts
beside a published total add up to less than the threshold (two hidden zeros beside a
total the visible parts make up are both recovered: no count is below zero), repeated
until nothing changes, since each new suppression can expose another relation.

Statistics (medians, survival curves) are computed only over at least `threshold`
observations; where such a statistic sits beside a hidden count, the fact that its n is
at least `threshold` may narrow what that count can be, so `feasible` works out what the
published figures already imply (see `median_band`). Pure functions only, no I/O.

A hidden value says what was hidden and why, in the same words everywhere (`hidden_count`,
`hidden_statistic`). Primary and secondary suppression share one label, as the ONS's
"[c]" does: a label saying "this one is only hidden to protect another" would tell that
the cell is at least the threshold, and with a total of exactly the threshold beside a
hidden zero, that alone gives both away.

Following the ONS and Home Office practice for NRM statistics, and the ONS guidance on
disclosure control for tables (https://analysisfunction.civilservice.gov.uk/policy-store/
statistical-disclosure-control-for-tables-produced-from-administrative-sources/).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

DEFAULT_THRESHOLD = 10

K = TypeVar("K", bound=Hashable)
Bounds = tuple[int, int | None]  # what a cell can be: (at least, at most or None: unbounded)


@dataclass(frozen=True)
class Relation(Generic[K]):
    """`total` is published as the sum of `parts`: any one of them follows from the others.
    With one part, the two cells count the same thing."""

    total: K
    parts: Sequence[K]


def hidden_count(threshold: int, unit: str) -> str:
    """What a suppressed count says: "suppressed (fewer than 10 journeys, or would reveal one)"."""
    return f"suppressed (fewer than {threshold} {unit}, or would reveal one)"


def hidden_statistic(threshold: int, unit: str) -> str:
    """What an unpublished statistic says, e.g. over resolved flags."""
    return f"not published (fewer than {threshold} {unit}, or it would reveal a suppressed count)"


def suppress(count: int | None, threshold: int) -> int | None:
    """The count if it may be published on its own, else None (below the threshold, or zero)."""
    if count is None or count < threshold:
        return None
    return count


def enough(observations: int | None, threshold: int) -> bool:
    """Whether a statistic over this many observations may be published."""
    return observations is not None and observations >= threshold


def zeros_by_construction(
    cells: Mapping[K, int], relations: Sequence[Relation[K]], structural: Collection[K]
) -> set[K]:
    """The structural zeros, and what follows from them: a total of structural zeros is
    one (every flag in London is of a rule nothing resolves, so none is resolved), and so
    is every part of one (no count is below zero). Only cells that are in fact zero."""
    known = {key for key in structural if cells.get(key) == 0}
    changed = bool(known)
    while changed:
        changed = False
        for relation in relations:
            if relation.total in known or all(part in known for part in relation.parts):
                members = [relation.total, *relation.parts]
                new = {key for key in members if key not in known and cells.get(key) == 0}
                if new:
                    known |= new
                    changed = True
    return known


def protect(
    cells: Mapping[K, int],
    relations: Sequence[Relation[K]],
    threshold: int,
    structural: Collection[K] = (),
) -> dict[K, int | None]:
    """Primary and secondary suppression of a table of counts.

    `cells` holds every published count, totals included; `relations` says which cells
    add up to which; `structural` names the cells that are zero by construction, published
    as 0 when they are. A relation that gives a hidden cell away (see `_exposed`: one
    hidden cell, or hidden parts adding up to less than the threshold beside a published
    total) gets another one hidden: the smallest visible part that is not a zero by
    construction (ties broken by the order of `parts`), or the total when no such part is
    left. Repeats until stable.
    """
    known = zeros_by_construction(cells, relations, structural)
    hidden = {key for key, count in cells.items() if count < threshold and key not in known}
    changed = True
    while changed:
        changed = False
        for relation in relations:
            if not _exposed(relation, cells, hidden, threshold):
                continue
            visible_parts = [k for k in relation.parts if k not in hidden and k not in known]
            if visible_parts:
                order = {key: i for i, key in enumerate(relation.parts)}
                chosen = min(visible_parts, key=lambda key: (cells[key], order[key]))
            elif relation.total not in hidden and relation.total not in known:
                chosen = relation.total
            else:  # nothing else to hide
                continue
            hidden.add(chosen)
            changed = True
    return {key: None if key in hidden else count for key, count in cells.items()}


def _exposed(
    relation: Relation[K], cells: Mapping[K, int], hidden: Collection[K], threshold: int
) -> bool:
    """Whether the relation gives away something hidden: one hidden cell alone follows
    from the rest; and where the total is published, hidden parts that add up to less
    than the threshold are each pinned to a few values (to one, when they add up to 0:
    hidden zeros beside a total that the visible parts already make up)."""
    members = [relation.total, *relation.parts]
    hidden_members = [key for key in members if key in hidden]
    if len(hidden_members) == 1:
        return True
    if not hidden_members or relation.total in hidden:
        return False
    return sum(cells[key] for key in hidden_members) < threshold


def feasible(
    shown: Mapping[K, int | None],
    relations: Sequence[Relation[K]],
    floors: Mapping[K, int] | None = None,
) -> dict[K, Bounds]:
    """What each cell can be, given the published ones, the relations, that no count is
    below zero and `floors` (known lower bounds): bounds carried through the relations
    until stable, as someone with the tables and a pencil would."""
    bounds: dict[K, Bounds] = {
        key: (value, value) if value is not None else ((floors or {}).get(key, 0), None)
        for key, value in shown.items()
    }
    for _ in range(8 * len(relations) + 1):
        changed = False
        for relation in relations:
            for key, new in _implied(relation, bounds):
                low, high = bounds[key]
                tighter = (max(low, new[0]), _min(high, new[1]))
                if tighter != (low, high):
                    bounds[key], changed = tighter, True
        if not changed:
            break
    return bounds


def _min(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _implied(relation: Relation[K], bounds: Mapping[K, Bounds]) -> list[tuple[K, Bounds]]:
    """Each member's bounds as the rest of the relation implies them."""
    total_low, total_high = bounds[relation.total]
    parts = list(relation.parts)
    low_sum = sum(bounds[p][0] for p in parts)
    highs = [bounds[p][1] for p in parts]
    high_sum = None if None in highs else sum(h for h in highs if h is not None)
    implied: list[tuple[K, Bounds]] = [(relation.total, (low_sum, high_sum))]
    for part in parts:
        low, high = bounds[part]
        others_high = None if high_sum is None or high is None else high_sum - high
        part_low = 0 if others_high is None else max(0, total_low - others_high)
        part_high = None if total_high is None else total_high - (low_sum - low)
        implied.append((part, (part_low, part_high)))
    return implied


def median_band(
    n_key: K,
    shown: Mapping[K, int | None],
    relations: Sequence[Relation[K]],
    threshold: int,
    floors: Mapping[K, int] | None = None,
) -> Bounds | None:
    """The band to give for the n of a statistic over at least `threshold` observations
    counted in the cell `n_key`, or None when the statistic must not be published.

    Published, the statistic tells that n is at least the threshold. Where n is published
    that is no news, and the band is n itself. Where n is hidden, it is published only if
    that fact leaves every hidden count it narrows at least `threshold` possible values
    (so no hidden cell is pinned, or nearly), and n is given as the band the published
    figures then imply. `floors` holds the floors earlier statistics revealed.
    """
    value = shown[n_key]
    if value is not None:
        return (value, value) if value >= threshold else None
    before = feasible(shown, relations, floors)
    after = feasible(shown, relations, {**(floors or {}), n_key: threshold})
    for key, (low, high) in after.items():
        narrowed = (low, high) != before[key]
        if shown[key] is None and narrowed and high is not None and high - low + 1 < threshold:
            return None
    return after[n_key]


@dataclass
class Published(Generic[K]):
    """The tables served together, once disclosure control has decided what they show.

    One set of cells and relations for every table an analyst can put side by side, so a
    cell hidden in one cannot be recovered from another. `band` decides, in the order
    asked, whether a statistic over a cell may be published (each one published adds what
    it reveals to what later ones are checked against).
    """

    relations: Sequence[Relation[K]]
    threshold: int
    shown: dict[K, int | None]
    floors: dict[K, int]

    @classmethod
    def of(
        cls,
        cells: Mapping[K, int],
        relations: Sequence[Relation[K]],
        threshold: int,
        structural: Collection[K] = (),
    ) -> Published[K]:
        return cls(relations, threshold, protect(cells, relations, threshold, structural), {})

    def band(self, n_key: K) -> Bounds | None:
        """The n band of a statistic over the (at least threshold) observations counted
        in `n_key`, or None: do not publish it (see `median_band`)."""
        band = median_band(n_key, self.shown, self.relations, self.threshold, self.floors)
        if band is not None and self.shown[n_key] is None:
            self.floors[n_key] = self.threshold
        return band


def ratio(numerator: int | None, denominator: int | None) -> float | None:
    """A rate between two published counts, or None when either is suppressed."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 4)
