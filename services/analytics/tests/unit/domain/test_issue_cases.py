"""The disclosure defects analysts met on a 2,000-journey `make run`, as they met them."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from analytics.api import files
from analytics.cli.report_text import dropoffs_text
from analytics.domain.dropoffs import FlagFact, table
from analytics.domain.period import Period
from analytics.domain.structure import RuleStructure
from journey_platform.contracts import Contracts
from journey_platform.settings import find_schemas_dir
from journey_processor.core.rules.catalogue import load

STRUCTURE = RuleStructure.load(Contracts.load(find_schemas_dir()))
SUPPRESSED = "suppressed (fewer than 10 flags, or would reveal one)"


def flags(rule: str, open_: int, resolved: int) -> list[FlagFact]:
    """Flags of one rule, each on its own journey; the resolved ones 1, 2, 3... days late."""
    out = [FlagFact(f"{rule}-o{i}", f"{rule}-j{i}", rule, "open", None) for i in range(open_)]
    out += [
        FlagFact(f"{rule}-r{i}", f"{rule}-k{i}", rule, "resolved", float(i % 30 + 1))
        for i in range(resolved)
    ]
    return out


def by_rule(facts: list[FlagFact]) -> dict[str, Any]:
    return table("rule", facts, 2000, period=Period(), threshold=10, structure=STRUCTURE)


def test_the_catalogue_says_which_rules_can_resolve() -> None:
    rules = load(Contracts.load(find_schemas_dir()))
    never = {rule_id for rule_id in rules if rule_id not in STRUCTURE.resolvable}
    # Immediate rules without a clearing event: nothing resolves their flags.
    assert never == {
        "adult-declined-referral",
        "support-ended-conclusive-grounds-pending",
        "move-on-cliff-edge",
        "re-referral",
    }
    assert STRUCTURE.never_resolved("rule", "adult-declined-referral")
    assert not STRUCTURE.never_resolved("rule", "reasonable-grounds-overdue")
    assert not STRUCTURE.never_resolved("stage", "identification")  # some of its rules resolve
    assert not STRUCTURE.never_resolved("region", "london")


def test_adult_declined_referral_shows_all_456_open() -> None:
    # Issue 16: the resolved count, zero by construction, was hidden as "<10", and
    # secondary suppression hid the open count with it.
    answer = by_rule(flags("adult-declined-referral", 456, 0) + flags("missing-episode", 30, 40))
    row = next(r for r in answer["rows"] if r["group"] == "adult-declined-referral")
    assert (row["raised"], row["open"], row["resolved"]) == (456, 456, 0)
    assert row["median_days_to_resolution"] is None  # no resolved flags to take it over


def test_a_structural_zero_that_is_not_zero_is_treated_as_any_count() -> None:
    # Should a flag of such a rule ever be resolved, its count is protected as usual.
    answer = by_rule(flags("adult-declined-referral", 456, 2) + flags("missing-episode", 30, 40))
    row = next(r for r in answer["rows"] if r["group"] == "adult-declined-referral")
    assert row["resolved"] is None and row["open"] is None and row["raised"] == 458


def test_a_zero_that_is_not_structural_stays_suppressed() -> None:
    answer = by_rule(flags("reasonable-grounds-overdue", 40, 0) + flags("missing-episode", 30, 40))
    row = next(r for r in answer["rows"] if r["group"] == "reasonable-grounds-overdue")
    assert row["resolved"] is None and row["open"] is None


def test_reasonable_grounds_overdue_shows_its_median_with_n_banded() -> None:
    # Issue 16: 399 raised, open under 10 (hidden), the resolved count hidden to protect
    # it; the median over about 390 resolved flags was shown as null.
    facts = flags("reasonable-grounds-overdue", 7, 392) + flags("missing-episode", 30, 40)
    answer = by_rule(facts)
    row = next(r for r in answer["rows"] if r["group"] == "reasonable-grounds-overdue")
    assert (row["raised"], row["open"], row["resolved"]) == (399, None, None)
    assert row["median_days_to_resolution"] == 15.0
    # n as a band: the exact 392 would give the open count (7) away.
    low, high = row["median_n_low"], row["median_n_high"]
    assert low is not None and high is not None and low >= 10 and high - low + 1 >= 10
    assert low <= 392 <= high and (low, high) != (392, 392)
    # missing-episode's open count went to protect it in the open column, and its resolved
    # count with it: banded too. The total's is exact.
    other = next(r for r in answer["rows"] if r["group"] == "missing-episode")
    assert other["resolved"] is None and other["median_n_low"] <= 40 <= other["median_n_high"]
    total = answer["total"]
    assert (total["resolved"], total["median_n_low"], total["median_n_high"]) == (432, 432, 432)


def test_a_median_that_would_pin_a_hidden_count_is_not_shown() -> None:
    # Raised 10, open 0 (hidden), resolved 10 (hidden to protect it): publishing a median
    # says n >= 10, so n = 10 and the open count is 0. Not shown.
    answer = by_rule(flags("reasonable-grounds-overdue", 0, 10) + flags("missing-episode", 30, 40))
    row = next(r for r in answer["rows"] if r["group"] == "reasonable-grounds-overdue")
    assert (row["raised"], row["open"], row["resolved"]) == (10, None, None)
    assert row["median_days_to_resolution"] is None and row["median_n_low"] is None


def test_hidden_cells_say_what_and_why_in_the_cli_and_the_csv() -> None:
    answer = by_rule(flags("reasonable-grounds-overdue", 7, 392) + flags("re-referral", 4, 0))
    text = dropoffs_text(answer)
    assert "<10" not in text
    assert f"[1] {SUPPRESSED}" in text.splitlines()
    overdue = next(line for line in text.splitlines() if line.startswith("Reasonable"))
    assert "15.00" in overdue and "suppressed [1]" in overdue
    rows, columns = files.dropoff_rows(answer)
    parsed = list(
        csv.DictReader(io.StringIO(files.render(rows, columns, "csv", answer["labels"]).decode()))
    )
    small = next(r for r in parsed if r["group"] == "re-referral")
    assert small["open"] == SUPPRESSED
    # re-referral: nothing resolves it, so its zero is published as 0.
    assert small["resolved"] == "0"
    assert small["median_days_to_resolution"].startswith("not published (fewer than 10")


@pytest.mark.parametrize("fmt", ["parquet"])
def test_parquet_keeps_nulls_typed_and_the_labels_in_its_metadata(fmt: str) -> None:
    import json

    import pyarrow.parquet as pq

    answer = by_rule(flags("reasonable-grounds-overdue", 7, 392))
    rows, columns = files.dropoff_rows(answer)
    data = pq.read_table(io.BytesIO(files.render(rows, columns, fmt, answer["labels"])))
    assert data.column("open").to_pylist()[0] is None
    assert json.loads(data.schema.metadata[b"hidden"])["open"] == SUPPRESSED
