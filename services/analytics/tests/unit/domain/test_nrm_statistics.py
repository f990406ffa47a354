"""The Home Office's quarterly tables: layout, disclosure control, the published beside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analytics.cli.nrm_report import nrm_text
from analytics.domain.nrm_layout import PUBLISHED, TABLES, Quarter, published_shares
from analytics.domain.nrm_statistics import MEDIAN, Measured, Referral, render

SHARED_BRIEF = Path(__file__).resolve().parents[5] / ".." / "shared" / "domain"


def referral(**profile: object) -> Referral:
    base: dict[str, object] = {
        "first_responder_type": "police",
        "age_group": "adult",
        "competent_authority": "sca",
        "exploitation_types": ["labour"],
        "nationality_group": "albania",
        "gender": "male",
    }
    return Referral(**{**base, **profile})  # type: ignore[arg-type]


def cohort() -> Measured:
    """120 referrals: 100 adult men from Albania, referred by the police for labour; 15
    children from the UK referred by councils for criminal exploitation, several types for
    five of them; 5 women referred by the Home Office (UKVI) to the IECA, nationality not
    named in the tables (Iran)."""
    referrals = [referral() for _ in range(100)]
    referrals += [
        referral(
            first_responder_type="local_authority",
            age_group="child",
            exploitation_types=["criminal", "labour"] if i < 5 else ["criminal"],
            nationality_group="uk",
        )
        for i in range(15)
    ]
    referrals += [
        referral(
            first_responder_type="home_office_ukvi",
            competent_authority="ieca",
            nationality_group="iran",
            gender="female",
        )
        for _ in range(5)
    ]
    return Measured(
        referrals=referrals,
        decisions={
            "reasonable_grounds_decisions": (53, 47),
            "conclusive_grounds_decisions": (40, 3),
        },
        duty_to_notify_reports=31,
        days_to_conclusive_grounds=[float(d) for d in range(400, 443)],
    )


def test_quarters_parse_and_span_their_months() -> None:
    q4 = Quarter.parse("2024Q4")
    assert (q4.first_day.isoformat(), q4.last_day.isoformat(), str(q4)) == (
        "2024-10-01", "2024-12-31", "2024Q4",
    )  # fmt: skip
    assert Quarter.parse("2024q1").last_day.isoformat() == "2024-03-31"
    for bad in ("2024", "2024Q5", "Q4", "24-Q1", "2024Q"):
        with pytest.raises(ValueError, match="calendar quarter"):
            Quarter.parse(bad)


def test_the_tables_reproduce_the_published_layout_under_disclosure_control() -> None:
    answer = render(cohort(), Quarter(2024, 4), threshold=10)
    tables = {t["name"]: t for t in answer["tables"]}
    assert [t.name for t in TABLES] == list(tables)
    by_responder = {r["group"]: r["count"] for r in tables["referrals_by_first_responder"]["rows"]}
    # The Home Office's 5 and the NGOs' 0 are hidden; together 5, under the threshold
    # (each would be pinned to 0-5), so the councils' 15 goes too.
    assert by_responder == {
        "government_agency": None, "police": 100, "local_authority": None, "ngo_and_other": None,
    }  # fmt: skip
    assert tables["referrals_by_first_responder"]["total"] == 120
    exploitation = {
        r["group"]: r["count"] for r in tables["referrals_by_exploitation_type"]["rows"]
    }
    assert exploitation["labour"] == 105
    assert exploitation["multiple"] is None and exploitation["criminal"] is None  # 5, 10
    nationality = {r["group"]: r["count"] for r in tables["referrals_by_nationality"]["rows"]}
    assert nationality["albania"] == 100 and nationality["uk"] is None  # beside 5 hidden
    assert "iran" not in nationality and nationality["other"] is None  # 5, folded into other
    decisions = {r["group"]: r for r in tables["reasonable_grounds_decisions"]["rows"]}
    assert (decisions["positive"]["count"], decisions["positive"]["share"]) == (53, 0.53)
    assert decisions["positive"]["published_share"] == 0.53  # 2024: 20,090 decisions, 53%
    assert decisions["positive"]["difference"] == 0.0
    assert decisions["positive"]["within_tolerance"] is True
    assert tables["reasonable_grounds_decisions"]["published_annual_total"] == 20090
    assert tables["duty_to_notify_reports"]["total"] == 31
    assert tables["duty_to_notify_reports"]["published_annual_total"] == 5598
    # Conclusive Grounds: 3 negative (hidden), so the positive count goes too; the median
    # over 43 decisions still shows, its n as a band.
    conclusive = {r["group"]: r["count"] for r in tables["conclusive_grounds_decisions"]["rows"]}
    assert conclusive == {"positive": None, "negative": None}
    median = answer[MEDIAN]
    assert median["days"] == 421.0 and (median["n_low"], median["n_high"]) == (43, 43)
    assert (median["published_days"], median["published_year"]) == (526, 2023)
    assert median["difference_days"] == -105.0


def test_shares_beside_the_published_and_the_rows_that_differ() -> None:
    answer = render(cohort(), Quarter(2024, 4), threshold=10)
    age = next(t for t in answer["tables"] if t["name"] == "referrals_by_age")
    rows = {r["group"]: r for r in age["rows"]}
    assert age["published_year"] == 2024
    assert rows["adult"]["share"] == round(105 / 120, 4)
    assert rows["adult"]["published_share"] == 0.68
    # 19.5 points over: beyond the tolerance and the sampling error of 120 referrals.
    assert rows["adult"]["sampling_error"] == round(1.96 * (0.68 * 0.32 / 120) ** 0.5, 4)
    assert rows["adult"]["within_tolerance"] is False
    assert "referrals_by_age:adult" in answer["differ"]
    # 57 positive Reasonable Grounds decisions of 100 against 53%: 4 points, within the
    # sampling error of 100 decisions (9.8 points), so not a difference.
    measured = cohort()
    measured.decisions["reasonable_grounds_decisions"] = (57, 43)
    again = render(measured, Quarter(2024, 4), threshold=10)
    decided = next(t for t in again["tables"] if t["name"] == "reasonable_grounds_decisions")
    positive = next(r for r in decided["rows"] if r["group"] == "positive")
    assert (positive["difference"], positive["within_tolerance"]) == (0.04, True)
    exploitation = next(t for t in again["tables"] if t["name"] == "referrals_by_exploitation_type")
    assert "single type" in exploitation["note"]
    # 2023 has counts by age, 2024 shares: each quarter is compared with its own year.
    assert published_shares("referrals_by_age", 2023) == (
        2023, {"adult": 0.5071, "child": 0.4371, "unknown": 0.0559},
    )  # fmt: skip
    # First responders were published for 2023 only: the nearest year before.
    assert published_shares("referrals_by_first_responder", 2025)[0] == 2023  # type: ignore[index]


def test_the_report_prints_live_beside_published_and_says_why_cells_are_hidden() -> None:
    text = nrm_text(render(cohort(), Quarter(2024, 4), threshold=10))
    assert "<10" not in text
    lines = text.splitlines()
    adult = next(line for line in lines if line.startswith("Adult"))
    assert adult.split()[1:5] == ["105", "87.5%", "68.0%", "+19.5"]
    assert "differs" in adult
    government = next(line for line in lines if line.startswith("Government agencies"))
    assert "suppressed [1]" in government
    assert (
        "[1] suppressed (fewer than 10 referrals, decisions or reports, or would reveal one)"
        in lines
    )
    assert any(line.startswith("Median days from referral") and "421.0" in line for line in lines)
    assert any(line.startswith("Outside the tolerance: ") for line in lines)


def test_the_published_figures_are_the_domain_briefs() -> None:
    brief = SHARED_BRIEF / "nrm-statistics.json"
    if not brief.is_file():
        pytest.skip("the shared domain brief is not beside this checkout")
    assert json.loads(PUBLISHED.read_text()) == json.loads(brief.read_text())
