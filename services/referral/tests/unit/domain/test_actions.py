"""The README's table of who may record what says what domain/actions.py does."""

from __future__ import annotations

from pathlib import Path

from journey_api.testing.readme import code_actions, readme_actions
from referral.domain import actions


def test_the_readme_table_says_what_the_code_says() -> None:
    readme = Path(__file__).parents[3] / "README.md"
    assert readme_actions(readme) == code_actions(actions)
