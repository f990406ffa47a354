from __future__ import annotations

import re

import pytest

from journey_platform.pseudonyms import Pseudonymiser, anonymous_journey_id

KEY = b"k" * 32
JOURNEY_ID = re.compile(r"^jny_[a-z2-7]{26}$")


def test_same_person_gets_the_same_journey_id_despite_spelling_noise() -> None:
    pseudonyms = Pseudonymiser(KEY)
    assert pseudonyms.journey_id("Zoë  Example", "1990-01-01") == pseudonyms.journey_id(
        "zoe example", "1990-01-01"
    )


def test_journey_ids_have_the_contract_shape_and_do_not_contain_the_identifiers() -> None:
    journey_id = Pseudonymiser(KEY).journey_id("Zebedee Example")
    assert JOURNEY_ID.match(journey_id)
    assert "zebedee" not in journey_id
    assert JOURNEY_ID.match(anonymous_journey_id())


def test_a_different_key_or_purpose_gives_an_unrelated_pseudonym() -> None:
    one, other = Pseudonymiser(KEY), Pseudonymiser(b"x" * 32)
    assert one.journey_id("A Person") != other.journey_id("A Person")
    assert one.pseudonym(purpose="journey", identifiers=["A Person"]) != one.pseudonym(
        purpose="match", identifiers=["A Person"]
    )


def test_identifier_boundaries_matter() -> None:
    pseudonyms = Pseudonymiser(KEY)
    assert pseudonyms.journey_id("ab", "c") != pseudonyms.journey_id("a", "bc")


def test_short_keys_and_empty_identifiers_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Pseudonymiser(b"short")
    with pytest.raises(ValueError, match="non-empty"):
        Pseudonymiser(KEY).journey_id("  ")
