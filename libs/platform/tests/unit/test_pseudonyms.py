from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from journey_platform.pseudonyms import Pseudonymiser, anonymous_journey_id, has_letter

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


def _ascii_fold_before(value: str) -> str:
    """The normalisation every stored pseudonym was made with before names in other
    scripts were kept: a Latin name must keep its pseudonym, or re-referrals stop matching."""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return " ".join(folded.lower().split())


@given(st.text(min_size=1, max_size=30))
def test_a_name_with_a_letter_is_pseudonymised_and_a_latin_one_as_before(name: str) -> None:
    pseudonyms = Pseudonymiser(KEY)
    if has_letter(name):
        pseudonyms.journey_id(name)  # never "needs at least one non-empty identifier"
    if any(c.isalnum() for c in _ascii_fold_before(name)):
        assert pseudonyms.journey_id(name) == pseudonyms.journey_id(_ascii_fold_before(name))


def test_names_in_other_scripts_get_their_own_pseudonyms() -> None:
    pseudonyms = Pseudonymiser(KEY)
    names = ["李伟", "王芳", "محمد", "ዮናስ"]
    assert len({pseudonyms.journey_id(n) for n in names}) == len(names)


@pytest.mark.parametrize("name", ["\x00\x01", "€", "!", "\u200b"])
def test_a_name_without_a_letter_has_none(name: str) -> None:
    assert not has_letter(name)
    with pytest.raises(ValueError, match="non-empty"):
        Pseudonymiser(KEY).journey_id(name)
