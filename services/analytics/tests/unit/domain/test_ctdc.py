"""The CTDC export: k-anonymous for any cohort, and nothing in it names a person or a day."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.domain.ctdc import COLUMNS, MILESTONES, QUASI_IDENTIFIERS, STAGES, export, record
from journey_platform.settings import find_schemas_dir

CODES = json.loads((find_schemas_dir() / "common" / "vocabulary.v1.schema.json").read_text())[
    "$defs"
]


def enum(name: str) -> list[str]:
    values: list[str] = CODES[name]["enum"]
    return values


START = datetime(2024, 1, 1, tzinfo=UTC)
OUTCOMES = st.sampled_from([None, "positive", "negative"])
MOMENT = st.one_of(st.none(), st.integers(0, 900).map(lambda d: START + timedelta(days=d)))


@st.composite
def journeys(draw: st.DrawFn) -> dict[str, Any]:
    referred = START + timedelta(
        days=draw(st.integers(0, 1000)), seconds=draw(st.integers(0, 86399))
    )
    return {
        "journey_id": f"journey-{draw(st.uuids()).hex}",
        "referred_at": referred,
        "region": draw(st.sampled_from(["north-east", "london", "wales", None])),
        "first_responder_type": draw(st.sampled_from(enum("first_responder_type"))),
        "gender": draw(st.sampled_from(enum("gender"))),
        "exploitation_types": draw(
            st.lists(st.sampled_from(enum("exploitation_type")), max_size=3, unique=True)
        ),
        "nationality_group": draw(st.sampled_from(enum("nationality_group"))),
        "age_band": draw(st.sampled_from(enum("age_band"))),
        "age_group": draw(st.sampled_from(enum("age_group"))),
        "reasonable_grounds_outcome": draw(OUTCOMES),
        "conclusive_grounds_outcome": draw(OUTCOMES),
        "stage": "awaiting_conclusive_grounds",
        "criminal_justice_stage": "none",
        **{column: draw(MOMENT) for column in MILESTONES.values()},
        **{name: draw(st.integers(0, 3)) for name in STAGES},
    }


DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4}|T\d{2}:\d{2}")


@settings(max_examples=60, deadline=None)
@given(cohort=st.lists(journeys(), max_size=250), k=st.sampled_from([2, 5, 11]))
def test_the_export_is_k_anonymous_and_names_no_one(cohort: list[dict[str, Any]], k: int) -> None:
    done = export([record(j) for j in cohort], k=k)

    rows = done.anonymised.rows
    combinations = Counter(tuple(r[q.name] for q in QUASI_IDENTIFIERS) for r in rows)
    assert all(size >= k for size in combinations.values())
    assert done.summary()["rows"] + done.summary()["rows_suppressed"] == len(cohort)
    ids = {j["journey_id"] for j in cohort}
    for row in rows:
        assert tuple(row) == COLUMNS  # nothing but the declared columns
        for value in row.values():
            # Codes, years and counts only: no id, no date, no free text.
            assert value is None or isinstance(value, (int, str))
            assert not isinstance(value, str) or (
                re.fullmatch(r"[a-z0-9_;*+-]+", value) and not DATE.search(value)
            ), value
            assert value not in ids


def test_a_journey_as_a_row_worked_by_hand() -> None:
    journey = {
        "journey_id": "journey-1", "referred_at": datetime(2024, 3, 10, 14, tzinfo=UTC),
        "region": "wales", "first_responder_type": "ngo", "gender": "female",
        "exploitation_types": ["sexual", "labour"], "nationality_group": "albania",
        "age_band": "16-17", "age_group": "child", "reasonable_grounds_outcome": "positive",
        "conclusive_grounds_outcome": "positive", "stage": "conclusive_grounds_positive",
        "criminal_justice_stage": "charged",
        **dict.fromkeys(MILESTONES.values()),
        "reasonable_grounds_decided_at": datetime(2024, 4, 20, tzinfo=UTC),  # 40 days
        "conclusive_grounds_decided_at": datetime(2025, 3, 10, tzinfo=UTC),  # 365 days
        **dict.fromkeys(STAGES, 0), "flagsSupport": 2,
    }  # fmt: skip

    row = record(journey)

    assert row["yearOfRegistration"] == "2024"
    assert row["typeOfExploitConcatenated"] == "labour;sexual"
    assert row["traffickingStatus"] == "actual_victim"
    assert row["monthsToReasonableGroundsDecision"] == 1
    assert row["monthsToConclusiveGroundsDecision"] == 11  # 365 days: 11.99 months
    assert row["monthsToSupportEntered"] is None
    assert row["flagsSupport"] == 2
    assert "journey-1" not in row.values()
