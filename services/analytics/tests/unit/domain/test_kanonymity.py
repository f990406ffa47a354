"""k-anonymity by greedy full-domain generalisation, then suppression: by hand, and for
any table (hypothesis)."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.domain.kanonymity import ANY, QuasiIdentifier, anonymise

AGE = QuasiIdentifier("age", (lambda v: "adult" if v >= "18" else "minor",))
NATION = QuasiIdentifier("nation")


def people(count: int, age: str, nation: str) -> list[dict[str, str]]:
    return [{"age": age, "nation": nation, "outcome": "positive"}] * count


def test_a_table_worked_by_hand() -> None:
    # 11 aged 25-34 from Albania, 6 aged 35-44 and 5 aged 18-24 from Albania, 1 from Iran.
    # At the recorded levels 12 rows are rarer than 3 (the 1 from Iran is alone, but 11 +
    # 6 + 5 share theirs): raising age to adult/minor joins the Albanians (22 rows), and
    # leaves only the one from Iran, who is suppressed (1 of 23 is under 5%).
    rows = [
        *people(11, "25-34", "albania"),
        *people(6, "35-44", "albania"),
        *people(5, "18-24", "albania"),
        *people(1, "25-34", "iran"),
    ]

    done = anonymise(rows, [AGE, NATION], k=11)

    assert done.levels == {"age": 1, "nation": 0}
    assert Counter((r["age"], r["nation"]) for r in done.rows) == {("adult", "albania"): 22}
    assert done.rows_suppressed == 1
    assert done.cells_generalised == 22
    assert all(r["outcome"] == "positive" for r in done.rows)  # other columns untouched


def test_a_table_of_fewer_than_k_rows_is_suppressed_whole() -> None:
    done = anonymise(people(10, "25-34", "albania"), [AGE, NATION], k=11)

    assert done.rows == [] and done.rows_suppressed == 10
    assert done.levels == {"age": 2, "nation": 1}  # everything tried first


def test_k_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        anonymise(people(3, "25-34", "albania"), [AGE, NATION], k=1)


ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "age": st.sampled_from(["12", "16", "25", "40", "70"]),
            "nation": st.sampled_from(["uk", "albania", "iran", "vietnam", "eritrea"]),
            "sex": st.sampled_from(["male", "female", "other"]),
        }
    ),
    max_size=300,
)


@settings(max_examples=150, deadline=None)
@given(rows=ROWS, k=st.integers(2, 15), budget=st.sampled_from([0.0, 0.05, 0.2]))
def test_every_combination_published_is_shared_by_k_rows(
    rows: list[dict[str, str]], k: int, budget: float
) -> None:
    quasi = [AGE, NATION, QuasiIdentifier("sex")]

    done = anonymise(rows, quasi, k=k, max_suppressed=budget)

    shown = Counter(tuple(r[q.name] for q in quasi) for r in done.rows)
    assert all(size >= k for size in shown.values())
    assert len(done.rows) + done.rows_suppressed == len(rows)
    # The suppression stays within the budget unless every column is already at "*".
    at_top = all(level == q.top for q, level in zip(quasi, done.levels.values(), strict=True))
    assert done.rows_suppressed <= budget * len(rows) or at_top
    if at_top:
        assert all(r[q.name] == ANY for r in done.rows for q in quasi)
