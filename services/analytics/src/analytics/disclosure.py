"""Statistical disclosure control: what the analytics may publish about small groups.

A count of people below the threshold (zeros included: "nobody with this profile was
referred from this region" is itself a disclosure) is suppressed, shown as null. Where a
table also publishes totals, one suppressed cell could be recovered by subtraction, so
whenever exactly one cell of a total-and-parts relation is hidden a second one is hidden
too (secondary suppression), repeated until nothing changes, since each new suppression can
expose another relation. Statistics (medians, survival curves) are computed only over at
least `threshold` observations. Pure functions only, no I/O.

Following the ONS and Home Office practice for NRM statistics, and the ONS guidance on
disclosure control for tables (https://analysisfunction.civilservice.gov.uk/policy-store/
statistical-disclosure-control-for-tables-produced-from-administrative-sources/).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

DEFAULT_THRESHOLD = 10

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Relation(Generic[K]):
    """`total` is published as the sum of `parts`: any one of them follows from the others."""

    total: K
    parts: Sequence[K]


def suppress(count: int | None, threshold: int) -> int | None:
    """The count if it may be published on its own, else None (below the threshold, or zero)."""
    if count is None or count < threshold:
        return None
    return count


def enough(observations: int | None, threshold: int) -> bool:
    """Whether a statistic over this many observations may be published."""
    return observations is not None and observations >= threshold


def protect(
    cells: Mapping[K, int], relations: Sequence[Relation[K]], threshold: int
) -> dict[K, int | None]:
    """Primary and secondary suppression of a table of counts.

    `cells` holds every published count, totals included; `relations` says which cells
    add up to which. A relation with exactly one hidden cell gets a second one hidden:
    the smallest visible part (ties broken by the order of `parts`), or the total when no
    part is left visible. Repeats until stable.
    """
    hidden = {key for key, count in cells.items() if count < threshold}
    changed = True
    while changed:
        changed = False
        for relation in relations:
            members = [relation.total, *relation.parts]
            if sum(1 for key in members if key in hidden) != 1:
                continue
            visible_parts = [key for key in relation.parts if key not in hidden]
            if visible_parts:
                order = {key: i for i, key in enumerate(relation.parts)}
                chosen = min(visible_parts, key=lambda key: (cells[key], order[key]))
            elif relation.total not in hidden:
                chosen = relation.total
            else:  # a relation with no parts: nothing else to hide
                continue
            hidden.add(chosen)
            changed = True
    return {key: None if key in hidden else count for key, count in cells.items()}


def ratio(numerator: int | None, denominator: int | None) -> float | None:
    """A rate between two published counts, or None when either is suppressed."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 4)
