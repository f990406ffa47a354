"""What partners may record in the support service, and which agency types may record it.

Adults are supported under the Modern Slavery Victim Care Contract (MSVCC) by support
providers; children by local authorities. Police also report missing episodes.
"""

from __future__ import annotations

from journey_api.domain.records import Action
from nrm_domain.agencies import COMPETENT_AUTHORITIES, FIRST_RESPONDERS, AgencyType

PROVIDERS = frozenset({AgencyType.SUPPORT_PROVIDER, AgencyType.LOCAL_AUTHORITY})
MISSING_REPORTERS = PROVIDERS | {AgencyType.POLICE_FORCE}


def _support(
    kind: str, event: str, description: str, types: frozenset[AgencyType] = PROVIDERS
) -> Action:
    return Action(kind, f"uk.nrm.{event}", "support:write", types, description)


REQUEST = _support(
    "support_case", "support.requested", "request support", FIRST_RESPONDERS | COMPETENT_AUTHORITIES
)
OFFER = _support("support_offer", "support.offered", "offer support")
ACCEPT = _support("support_acceptance", "support.accepted", "record that support was accepted")
DECLINE = _support("support_decline", "support.declined", "record that support was declined")
FIRST_CONTACT = _support("first_contact", "support.first-contact-made", "record first contact")
ENTER_ACCOMMODATION = _support(
    "accommodation_entry", "accommodation.entered", "record entering accommodation"
)
LEAVE_ACCOMMODATION = _support(
    "accommodation_exit", "accommodation.left", "record leaving accommodation"
)
CONTACT = _support("support_contact", "support.contact-recorded", "record a support contact")
NEEDS_ASSESSMENT = _support(
    "needs_assessment", "needs-assessment.completed", "record a needs assessment"
)
REQUEST_LEGAL = _support(
    "legal_representation_request",
    "legal-representation.requested",
    "record a request for legal representation",
)
SECURE_LEGAL = _support(
    "legal_representation",
    "legal-representation.secured",
    "record that legal representation was secured",
)
REPORT_MISSING = _support(
    "missing_episode", "missing-episode.reported", "report a missing episode", MISSING_REPORTERS
)
END_MISSING = _support(
    "missing_episode_end",
    "missing-episode.ended",
    "record the end of a missing episode",
    MISSING_REPORTERS,
)
RECOVERY_NEEDS = _support(
    "recovery_needs_assessment",
    "recovery-needs-assessment.completed",
    "record a Recovery Needs Assessment",
)
MOVE_ON = _support("move_on_plan", "move-on-plan.agreed", "record a move-on plan")
END = _support("support_end", "support.ended", "end support")
