"""The relevance table names real rules and leaves no rule unheard."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from flags.config import FlagsSettings
from flags.domain.relevance import RELEVANT, concerns, relevant_rules
from nrm_domain.agencies import AgencyType


def catalogue_rules() -> set[str]:
    document = yaml.safe_load(FlagsSettings().rules_catalogue_path.read_text())
    return {rule["id"] for rule in document["rules"]}


def test_every_catalogue_rule_is_relevant_to_at_least_one_agency_type() -> None:
    told = set().union(*RELEVANT.values())
    assert catalogue_rules() - told == set()


def test_every_table_entry_names_a_real_rule() -> None:
    told = set().union(*RELEVANT.values())
    assert told - catalogue_rules() == set()


def test_every_agency_type_has_a_row_and_analysts_hear_of_nothing() -> None:
    assert set(RELEVANT) == set(AgencyType)
    assert relevant_rules(AgencyType.ANALYST) == frozenset()


def test_the_issue_s_examples_hold() -> None:
    assert concerns(AgencyType.SUPPORT_PROVIDER, "missing-episode")
    assert concerns(AgencyType.POLICE_FORCE, "victim-withdrew")
    assert concerns(AgencyType.COMPETENT_AUTHORITY_SCA, "reasonable-grounds-overdue")
    assert concerns(AgencyType.LOCAL_AUTHORITY, "adult-declined-referral")
    assert not concerns(AgencyType.CPS, "missing-episode")


def test_the_readme_table_says_what_the_code_says() -> None:
    readme = Path(__file__).parents[3] / "README.md"
    rows = {}
    for line in readme.read_text().splitlines():
        found = re.match(r"^\| `(\w+)` \| (.*?) \|", line)
        if found:
            rows[found[1]] = frozenset(re.findall(r"`([a-z0-9-]+)`", found[2]))
    assert rows == {t.value: rules for t, rules in RELEVANT.items()}
