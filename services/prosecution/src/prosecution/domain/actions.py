"""What partners may record in the prosecution service, and which agency types may record it.

Police record crimes, investigations and their contact with the victim; the CPS decides
charges and records trial outcomes; either may record the victim's engagement changing
or a Section 45 defence (Modern Slavery Act 2015) being raised.
"""

from __future__ import annotations

from journey_api.domain.records import Action
from nrm_domain.agencies import AgencyType

POLICE = frozenset({AgencyType.POLICE_FORCE})
CPS = frozenset({AgencyType.CPS})
CRIMINAL_JUSTICE = POLICE | CPS


def _justice(kind: str, event: str, types: frozenset[AgencyType], description: str) -> Action:
    return Action(kind, f"uk.nrm.{event}", "justice:write", types, description)


RECORD_CRIME = _justice("criminal_case", "crime.recorded", POLICE, "record a crime")
OPEN_INVESTIGATION = _justice(
    "investigation_opening", "investigation.opened", POLICE, "open an investigation"
)
CLOSE_INVESTIGATION = _justice(
    "investigation_closure", "investigation.closed", POLICE, "close an investigation"
)
CONTACT_VICTIM = _justice(
    "victim_contact", "victim-contact.made", POLICE, "record contact with the victim"
)
TAKE_STATEMENT = _justice("statement", "statement.given", POLICE, "record a statement")
CHANGE_ENGAGEMENT = _justice(
    "engagement_change",
    "victim-engagement.changed",
    CRIMINAL_JUSTICE,
    "record a change in the victim's engagement",
)
DECIDE_CHARGE = _justice("charge_decision", "charge.decided", CPS, "record a charge decision")
CONCLUDE_TRIAL = _justice("trial_outcome", "trial.concluded", CPS, "record a trial outcome")
RAISE_SECTION_45 = _justice(
    "section_45_defence",
    "section-45-defence.raised",
    CRIMINAL_JUSTICE,
    "record a Section 45 defence",
)
