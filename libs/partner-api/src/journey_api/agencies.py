"""The registry of partner agencies and their types.

An agency's type fixes what it may record (each service declares which types may take
each action); its id is what audit rows, participants and `recordedby` name. The registry
is configuration: a YAML file per deployment (`deploy/local/agencies.yaml` for development).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import yaml


class AgencyType(StrEnum):
    POLICE_FORCE = "police_force"
    LOCAL_AUTHORITY = "local_authority"
    NGO_FIRST_RESPONDER = "ngo_first_responder"
    # Home Office first responders (UK Visas and Immigration and the like): in the
    # published figures, government agencies make the largest share of referrals.
    HOME_OFFICE_FIRST_RESPONDER = "home_office_first_responder"
    COMPETENT_AUTHORITY_SCA = "competent_authority_sca"  # Single Competent Authority
    COMPETENT_AUTHORITY_IECA = "competent_authority_ieca"  # Immigration Enforcement CA
    SUPPORT_PROVIDER = "support_provider"  # MSVCC prime contractor and subcontractors
    CPS = "cps"  # Crown Prosecution Service
    ANALYST = "analyst"  # reads disclosure-controlled analytics only; records nothing


FIRST_RESPONDERS = frozenset(
    {
        AgencyType.POLICE_FORCE,
        AgencyType.LOCAL_AUTHORITY,
        AgencyType.NGO_FIRST_RESPONDER,
        AgencyType.HOME_OFFICE_FIRST_RESPONDER,
    }
)
COMPETENT_AUTHORITIES = frozenset(
    {AgencyType.COMPETENT_AUTHORITY_SCA, AgencyType.COMPETENT_AUTHORITY_IECA}
)


@dataclass(frozen=True)
class Agency:
    id: str
    name: str
    type: AgencyType


class AgencyRegistry:
    def __init__(self, agencies: list[Agency]) -> None:
        self._by_id = {a.id: a for a in agencies}

    @classmethod
    def load(cls, path: Path) -> AgencyRegistry:
        document = yaml.safe_load(path.read_text())
        return cls(
            [
                Agency(id=a["id"], name=a["name"], type=AgencyType(a["type"]))
                for a in document["agencies"]
            ]
        )

    def get(self, agency_id: str) -> Agency | None:
        return self._by_id.get(agency_id)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_id.values())
