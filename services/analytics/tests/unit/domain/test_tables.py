"""The funnel, drop-off and event-log tables: disclosure control where it matters."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq

from analytics.api import files
from analytics.domain.dropoffs import FlagFact, label, table
from analytics.domain.eventlog import build
from analytics.domain.funnel import funnel
from analytics.domain.period import Period


def facts(group: str, open_: int, resolved: int, *, prefix: str = "") -> list[FlagFact]:
    """Flags of one group, each on its own journey; resolved ones took 1, 2, 3... days."""
    out = [
        FlagFact(f"{prefix}{group}-o{i}", f"{prefix}{group}-j{i}", group, "open", None)
        for i in range(open_)
    ]
    out += [
        FlagFact(f"{prefix}{group}-r{i}", f"{prefix}{group}-k{i}", group, "resolved", float(i + 1))
        for i in range(resolved)
    ]
    return out


def test_funnel_suppresses_small_steps_and_their_conversions() -> None:
    counts = {
        "referred": 200,
        "reasonable_grounds_decided": 150,
        "reasonable_grounds_positive": 120,
        "support_entered": 80,
        "conclusive_grounds_decided": 40,
        "conclusive_grounds_positive": 30,
        "police_referral": 25,
        "crime_recorded": 12,
        "charged": 4,
        "convicted": 0,
    }
    answer = funnel(counts, period=Period(), threshold=10)
    steps = {s["step"]: s for s in answer["steps"]}
    assert steps["referred"] == {"step": "referred", "label": "Referral", "count": 200,
                                 "conversion": None, "conversion_from": None}  # fmt: skip
    assert steps["reasonable_grounds_decided"]["conversion"] == 0.75
    # Two branches from the referral: support and Conclusive Grounds decisions convert
    # from positive Reasonable Grounds; a police referral from the referral itself.
    assert steps["conclusive_grounds_decided"]["conversion"] == round(40 / 120, 4)
    assert steps["police_referral"]["conversion_from"] == "referred"
    assert steps["police_referral"]["conversion"] == round(25 / 200, 4)
    assert steps["charged"]["count"] is None and steps["charged"]["conversion"] is None
    assert steps["convicted"]["count"] is None and steps["convicted"]["conversion"] is None
    assert answer["threshold"] == 10 and answer["period"] == {"from": None, "to": None}


def test_dropoffs_protect_a_small_rule_from_the_total() -> None:
    # missing-episode: 30 raised (10 open, 20 resolved); re-referral: 5 raised, all open.
    rows = facts("missing-episode", 10, 20) + facts("re-referral", 5, 0)
    answer = table("rule", rows, 500, period=Period(), threshold=10)
    by_group = {r["group"]: r for r in answer["rows"]}
    small = by_group["re-referral"]
    assert (small["raised"], small["open"], small["resolved"], small["journeys"]) == (
        None, None, None, None,
    )  # fmt: skip
    # total 35 - missing-episode 30 would give re-referral's 5: its raised is hidden too,
    # and so on down the row and columns.
    assert by_group["missing-episode"]["raised"] is None
    total = answer["total"]
    assert (total["group"], total["label"], total["raised"], total["open"], total["resolved"]) == (
        "all", "All", 35, 15, 20,
    )  # fmt: skip
    assert total["median_days_to_resolution"] == 10.5  # days 1..20
    assert answer["journeys_in_period"] == 500
    # Suppressed rows go last, in name order, never by their hidden size.
    assert [r["group"] for r in answer["rows"]] == ["missing-episode", "re-referral"]


def test_dropoff_rows_are_sorted_by_raised_and_medians_need_enough_resolved() -> None:
    rows = facts("support", 20, 40) + facts("identification", 15, 15) + facts("prevention", 30, 9)
    answer = table("stage", rows, 1000, period=Period(), threshold=10)
    assert [r["group"] for r in answer["rows"]] == ["support", "prevention", "identification"]
    by_group = {r["group"]: r for r in answer["rows"]}
    assert by_group["support"]["median_days_to_resolution"] == 20.5
    assert by_group["prevention"]["resolved"] is None  # 9 resolved
    assert by_group["prevention"]["median_days_to_resolution"] is None
    assert by_group["identification"]["label"] == "Identification"


def test_a_flag_in_several_exploitation_types_counts_once_in_the_total() -> None:
    shared = [
        FlagFact(f"f{i}", f"j{i}", group, "open", None)
        for i in range(12)
        for group in ("labour", "sexual")
    ]
    answer = table("exploitation_type", shared, 100, period=Period(), threshold=10)
    assert [r["raised"] for r in answer["rows"]] == [12, 12]
    assert answer["total"]["raised"] == 12 and answer["total"]["journeys"] == 12


def test_no_journeys_at_all_is_all_suppressed() -> None:
    answer = table("region", [], 0, period=Period(), threshold=10)
    assert answer["rows"] == [] and answer["journeys_in_period"] is None
    assert answer["total"]["raised"] is None


def test_labels_read_as_words() -> None:
    assert label("missing-episode") == "Missing episode"
    assert label("north_east") == "North east"


def test_the_event_log_cuts_rare_paths_and_repseudonymises_per_export() -> None:
    t = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)
    common = ["uk.nrm.referral.submitted", "uk.nrm.reasonable-grounds.decided"]
    events = [
        (f"jny_{i}", activity, t + timedelta(days=n))
        for i in range(12)
        for n, activity in enumerate(common)
    ]
    # Shares its first step with the twelve, then goes where nobody else did: cut there.
    events += [
        ("jny_rare", "uk.nrm.referral.submitted", t),
        ("jny_rare", "uk.nrm.immigration-detention.entered", t + timedelta(days=1)),
    ]
    # Begins where nobody else did: left out altogether.
    events += [("jny_alone", "uk.nrm.duty-to-notify.reported", t)]
    first, summary = build(events, threshold=10, key=b"k" * 32)
    second, _ = build(events, threshold=10, key=b"x" * 32)
    assert (summary.cases, summary.truncated_cases, summary.dropped_cases) == (13, 1, 1)
    assert summary.dropped_events == 2
    assert len(first) == 24 + 1
    activities = [r["activity"] for r in first]
    assert "uk.nrm.immigration-detention.entered" not in activities
    assert "uk.nrm.duty-to-notify.reported" not in activities
    assert not {r["case_id"] for r in first} & {r["case_id"] for r in second}
    assert all(not r["case_id"].startswith("jny_") for r in first)
    assert {r["timestamp"] for r in first} == {
        datetime(2025, 3, 3, tzinfo=UTC),
        datetime(2025, 3, 4, tzinfo=UTC),
    }


def test_exports_keep_nulls_as_nulls() -> None:
    answer = funnel(
        {"referred": 50, "reasonable_grounds_decided": 3}, period=Period(), threshold=10
    )
    rows, columns = files.funnel_rows(answer)
    text = files.render(rows, columns, "csv").decode()
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert parsed[0] == {"step": "referred", "label": "Referral", "count": "50", "conversion": "",
                         "conversion_from": ""}  # fmt: skip
    assert parsed[1]["count"] == ""
    frame = pq.read_table(io.BytesIO(files.render(rows, columns, "parquet"))).to_pylist()
    assert frame[0]["count"] == 50 and frame[1]["count"] is None
