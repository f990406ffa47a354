"""Disclosure control on tables built to tempt it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from analytics.domain.disclosure import Relation, enough, protect, ratio, suppress


def derivable(shown: Mapping[Any, int | None], relations: Sequence[Relation[Any]]) -> set[Any]:
    """Hidden cells an attacker recovers by subtraction, applied as long as it helps."""
    known = {k: v for k, v in shown.items() if v is not None}
    recovered: set[Any] = set()
    progress = True
    while progress:
        progress = False
        for relation in relations:
            members = [relation.total, *relation.parts]
            unknown = [k for k in members if k not in known]
            if len(unknown) == 1:
                (cell,) = unknown
                parts = sum(known[k] for k in relation.parts if k in known)
                known[cell] = known[relation.total] - parts if cell != relation.total else parts
                recovered.add(cell)
                progress = True
    return recovered


def test_a_single_small_cell_is_suppressed_and_nothing_else() -> None:
    assert protect({"a": 50, "b": 3, "c": 10}, [], 10) == {"a": 50, "b": None, "c": 10}


def test_zero_is_suppressed_like_any_small_count() -> None:
    assert suppress(0, 10) is None
    assert protect({"a": 0, "b": 25}, [], 10) == {"a": None, "b": 25}


def test_the_threshold_itself_is_published() -> None:
    assert suppress(10, 10) == 10
    assert suppress(9, 10) is None


def test_a_total_that_would_reveal_one_cell_gets_a_second_cell_hidden() -> None:
    # 53 = 50 + 3: publishing 53 and 50 gives the 3 away.
    relations = [Relation("total", ["a", "b"])]
    shown = protect({"total": 53, "a": 50, "b": 3}, relations, 10)
    assert shown == {"total": 53, "a": None, "b": None}
    assert derivable(shown, relations) == set()


def test_the_smallest_other_cell_is_the_one_hidden() -> None:
    relations = [Relation("total", ["a", "b", "c"])]
    shown = protect({"total": 95, "a": 60, "b": 3, "c": 32}, relations, 10)
    assert shown == {"total": 95, "a": 60, "b": None, "c": None}


def test_everything_small_is_all_suppressed() -> None:
    relations = [Relation("total", ["a", "b"])]
    shown = protect({"total": 7, "a": 4, "b": 3}, relations, 10)
    assert shown == {"total": None, "a": None, "b": None}


def test_a_zero_beside_a_total_is_protected_too() -> None:
    # 40 = 40 + 0: the zero cell is hidden, and so must be the 40 beside it.
    relations = [Relation("total", ["a", "b"])]
    assert protect({"total": 40, "a": 40, "b": 0}, relations, 10) == {
        "total": 40,
        "a": None,
        "b": None,
    }


def test_secondary_suppression_cascades_through_a_two_way_table() -> None:
    #            c1   c2   c3  | row total
    #   r1        3   20   30  |  53
    #   r2       40   12   50  | 102
    #   ----------------------------------
    #   column   43   32   80  | 155
    # r1c1 is small; hiding r1c2 to protect it (row r1) exposes it in column c2, so r2c2
    # goes too, and column c1 needs r2c1: four cells, and nothing derivable.
    table = {
        ("r1", "c1"): 3, ("r1", "c2"): 20, ("r1", "c3"): 30, ("r1", "all"): 53,
        ("r2", "c1"): 40, ("r2", "c2"): 12, ("r2", "c3"): 50, ("r2", "all"): 102,
        ("all", "c1"): 43, ("all", "c2"): 32, ("all", "c3"): 80, ("all", "all"): 155,
    }  # fmt: skip
    rows, columns = ("r1", "r2"), ("c1", "c2", "c3")
    relations = [Relation((r, "all"), [(r, c) for c in columns]) for r in (*rows, "all")]
    relations += [Relation(("all", c), [(r, c) for r in rows]) for c in (*columns, "all")]
    shown = protect(table, relations, 10)
    hidden = {k for k, v in shown.items() if v is None}
    assert hidden == {("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c2")}
    assert derivable(shown, relations) == set()


def test_statistics_need_enough_observations() -> None:
    assert not enough(9, 10)
    assert enough(10, 10)
    assert not enough(None, 10)


def test_a_ratio_with_a_suppressed_side_is_null() -> None:
    assert ratio(None, 100) is None
    assert ratio(50, None) is None
    assert ratio(50, 100) == 0.5


@given(
    st.lists(st.lists(st.integers(0, 40), min_size=1, max_size=4), min_size=1, max_size=4),
    st.integers(2, 15),
)
def test_no_suppressed_cell_of_any_table_can_be_recovered(
    grid: list[list[int]], threshold: int
) -> None:
    width = min(len(row) for row in grid)
    cells: dict[tuple[Any, Any], int] = {}
    for r, row in enumerate(grid):
        for c in range(width):
            cells[(r, c)] = row[c]
        cells[(r, "all")] = sum(row[:width])
    for c in [*range(width), "all"]:
        cells[("all", c)] = sum(cells[(r, c)] for r in range(len(grid)))
    relations = [
        Relation((r, "all"), [(r, c) for c in range(width)]) for r in [*range(len(grid)), "all"]
    ]
    relations += [
        Relation(("all", c), [(r, c) for r in range(len(grid))]) for c in [*range(width), "all"]
    ]
    shown = protect(cells, relations, threshold)
    for key, value in shown.items():
        assert value is None if cells[key] < threshold else value in (None, cells[key])
    assert derivable(shown, relations) == set()


def test_hidden_zeros_beside_a_total_the_visible_parts_make_up_take_another_cell() -> None:
    # 60 = 50 + 10 + 0 + 0: the two hidden zeros add up to 60 - 50 - 10 = 0, so each is 0
    # (no count is below zero). Hidden parts must add up to at least the threshold.
    relations = [Relation("total", ["a", "b", "c", "d"])]
    shown = protect({"total": 60, "a": 50, "b": 10, "c": 0, "d": 0}, relations, 10)
    assert shown == {"total": 60, "a": 50, "b": None, "c": None, "d": None}


def test_a_structural_zero_is_published_and_protects_nothing() -> None:
    # 456 = 456 open + 0 resolved, the zero by construction: nothing to hide, nothing hidden.
    relations = [Relation("raised", ["open", "resolved"])]
    shown = protect({"raised": 456, "open": 456, "resolved": 0}, relations, 10, {"resolved"})
    assert shown == {"raised": 456, "open": 456, "resolved": 0}
    # Declared structural but not zero: a count like any other.
    shown = protect({"raised": 458, "open": 456, "resolved": 2}, relations, 10, {"resolved"})
    assert shown == {"raised": 458, "open": None, "resolved": None}
