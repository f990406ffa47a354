"""Test aids (never loaded by the service): a generated person and a referral of them, as
the integration tests and the benchmarks submit them."""

from __future__ import annotations

import secrets
from typing import Any


def synthetic_person(tag: str, *, given: str = "Testgiven") -> dict[str, Any]:
    """Obviously synthetic, and unique by `tag`, so a scan for it cannot match by chance;
    the birth date falls before the NRM began, which no event's date can (the APIs refuse
    such an `occurred_at`; a fuzz test once sent one equal to a test person's birth date)."""
    born = f"19{secrets.randbelow(50) + 50}-0{secrets.randbelow(9) + 1}-1{secrets.randbelow(9)}"
    return {
        "given_name": f"{given}{tag}",
        "family_name": f"Synthfamily{tag}",
        "date_of_birth": born,
        "nationality": "ALB",
        "other_names": [f"Aliasname{tag}"],
    }


def referral_body(person: dict[str, Any], occurred_at: str, **overrides: Any) -> dict[str, Any]:
    """An adult's consented referral to the SCA, from London."""
    return {
        "occurred_at": occurred_at,
        "person": person,
        "competent_authority": "sca",
        "age_group": "adult",
        "gender": "female",
        "nationality_group": "albania",
        "exploitation_types": ["sexual"],
        "exploitation_location": "uk_only",
        "region": "london",
        "consent": "given",
        **overrides,
    }
