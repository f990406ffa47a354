"""k-anonymity: generalise quasi-identifiers, then suppress the rows still too rare.

A quasi-identifier is a column someone could know about a person from elsewhere (their
age, nationality, the year they were referred). A table is k-anonymous when every
combination of quasi-identifier values it shows is shared by at least k rows, so no row
can be narrowed down to fewer than k people (Sweeney, "k-anonymity: a model for protecting
privacy", 2002).

Each quasi-identifier has a generalisation hierarchy: level 0 is the value as recorded,
each level coarser than the one before, the last "*" (any value). One level per
quasi-identifier applies to every row (full-domain generalisation, Samarati 2001), so a
column means the same thing on every row. The levels are found greedily: from the recorded
values, raise one quasi-identifier by one level at a time, the one that leaves the fewest
rows in combinations rarer than k (ties: the first declared), until those rows are at most
`max_suppressed` of the table; then they are suppressed (left out). It always ends: with
every quasi-identifier at "*" all rows share one combination, and a table of fewer than
k rows is suppressed whole. Greedy, so not always the least loss possible (an optimal
search such as Incognito or ARX's Flash is exponential in the number of columns); the
loss is reported: cells generalised and rows suppressed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ANY = "*"
Row = Mapping[str, Any]


@dataclass(frozen=True)
class QuasiIdentifier:
    """A column, and the coarser forms of its values, finest first ("*" is always last)."""

    name: str
    coarser: tuple[Callable[[str], str], ...] = ()

    @property
    def top(self) -> int:
        return len(self.coarser) + 1

    def at(self, level: int, value: str) -> str:
        if level == 0:
            return value
        if level > len(self.coarser):
            return ANY
        return self.coarser[level - 1](value)


@dataclass(frozen=True)
class Anonymised:
    rows: list[dict[str, Any]]
    levels: dict[str, int]  # quasi-identifier -> the level published (0: as recorded)
    cells_generalised: int  # published quasi-identifier cells that differ from the recorded
    rows_suppressed: int


def combination(
    row: Row, quasi: Sequence[QuasiIdentifier], levels: Sequence[int]
) -> tuple[str, ...]:
    return tuple(q.at(level, str(row[q.name])) for q, level in zip(quasi, levels, strict=True))


def at_risk(
    rows: Sequence[Row], quasi: Sequence[QuasiIdentifier], levels: Sequence[int], k: int
) -> int:
    """Rows whose combination, at these levels, fewer than k rows share."""
    sizes = Counter(combination(row, quasi, levels) for row in rows)
    return sum(size for size in sizes.values() if size < k)


def raised(levels: Sequence[int], index: int) -> list[int]:
    return [level + (i == index) for i, level in enumerate(levels)]


def search(
    rows: Sequence[Row], quasi: Sequence[QuasiIdentifier], k: int, max_suppressed: float
) -> list[int]:
    """The levels: greedily raised until at most `max_suppressed` of the rows are at risk."""
    levels = [0] * len(quasi)
    budget = max_suppressed * len(rows)
    while at_risk(rows, quasi, levels, k) > budget:
        raisable = [i for i, q in enumerate(quasi) if levels[i] < q.top]
        if not raisable:
            break

        risks = {i: at_risk(rows, quasi, raised(levels, i), k) for i in raisable}
        levels = raised(levels, min(raisable, key=lambda i: (risks[i], i)))
    return levels


def anonymise(
    rows: Sequence[Row], quasi: Sequence[QuasiIdentifier], *, k: int, max_suppressed: float = 0.05
) -> Anonymised:
    """The rows with their quasi-identifiers generalised, and those still in a combination
    rarer than k left out: every combination published is shared by at least k rows."""
    if k < 2:
        raise ValueError("k must be at least 2: k = 1 protects nobody")
    levels = search(rows, quasi, k, max_suppressed)
    sizes = Counter(combination(row, quasi, levels) for row in rows)
    published: list[dict[str, Any]] = []
    generalised = 0
    for row in rows:
        shown = combination(row, quasi, levels)
        if sizes[shown] < k:
            continue
        generalised += sum(value != str(row[q.name]) for q, value in zip(quasi, shown, strict=True))
        published.append({**row, **{q.name: value for q, value in zip(quasi, shown, strict=True)}})
    return Anonymised(
        rows=published,
        levels={q.name: level for q, level in zip(quasi, levels, strict=True)},
        cells_generalised=generalised,
        rows_suppressed=len(rows) - len(published),
    )
