"""A referred person's details are refused, naming the field, when they cannot be a
person's: a name with no letter (it would match nobody) or an implausible birth date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from referral.api.submission import Person
from referral.domain.people import MAX_AGE_YEARS


def _person(**overrides: Any) -> dict[str, Any]:
    return {
        "given_name": "Testgiven",
        "family_name": "Synthfamily",
        "date_of_birth": "1996-05-17",
        "nationality": "ALB",
        **overrides,
    }


@pytest.mark.parametrize("name", ["\x00\x1f", "€", "-", "Ann\x00e"])
@pytest.mark.parametrize("field", ["given_name", "family_name"])
def test_a_name_without_a_letter_or_with_a_control_character_is_refused(
    field: str, name: str
) -> None:
    with pytest.raises(ValidationError, match=rf"{field}\n.*at least one letter"):
        Person.model_validate(_person(**{field: name}))


def test_names_in_any_script_are_taken() -> None:
    Person.model_validate(_person(given_name="伟", family_name="محمد", other_names=["Zoë"]))


def test_a_birth_date_in_the_future_or_too_long_ago_is_refused() -> None:
    today = datetime.now(UTC).date()
    for born in (
        "0693-05-17",
        str(today + timedelta(days=2)),
        f"{today.year - MAX_AGE_YEARS}-01-01",
    ):
        with pytest.raises(ValidationError, match=r"date_of_birth\n.*in the future nor over"):
            Person.model_validate(_person(date_of_birth=born))
    Person.model_validate(_person(date_of_birth=f"{today.year - MAX_AGE_YEARS + 2}-01-01"))
