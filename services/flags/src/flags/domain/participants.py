"""Who takes part in a journey, learned from the partner services' journey events.

This mirrors the partner APIs' `participants=` rules (and `JourneyRecords.record`, which
adds the recording agency), so an agency sees a journey's flags here exactly when it can
read that journey in a partner API:

- whoever recorded the event (its `recordedby`);
- a referral: the competent authorities of its `competent_authority` (referral service,
  submission.py);
- a Duty to Notify report: the Single Competent Authority, which receives MS1 reports for
  the Home Office (referral service, `duty_to_notify`);
- an investigation closed `referred_to_cps`: the CPS (prosecution service, `to_cps`);
- support requested: the provider it names (support service, `provider`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from journey_api.agencies import AgencyRegistry
from nrm_domain.agencies import AgencyType

AUTHORITY_TYPES = {
    "sca": AgencyType.COMPETENT_AUTHORITY_SCA,
    "ieca": AgencyType.COMPETENT_AUTHORITY_IECA,
}


def _of_type(registry: AgencyRegistry, agency_type: AgencyType) -> set[str]:
    return {a.id for a in registry if a.type is agency_type}


def participants(
    registry: AgencyRegistry, *, event_type: str, recorded_by: str, data: Mapping[str, Any]
) -> frozenset[str]:
    """The agencies an event makes take part in its journey."""
    named: set[str] = {recorded_by}
    if event_type == "uk.nrm.referral.submitted":
        named |= _of_type(registry, AUTHORITY_TYPES[data["competent_authority"]])
    elif event_type == "uk.nrm.duty-to-notify.reported":
        named |= _of_type(registry, AgencyType.COMPETENT_AUTHORITY_SCA)
    elif event_type == "uk.nrm.investigation.closed" and data["outcome"] == "referred_to_cps":
        named |= _of_type(registry, AgencyType.CPS)
    elif event_type == "uk.nrm.support.requested" and data.get("provider_agency_id"):
        named.add(data["provider_agency_id"])
    return frozenset(named)
