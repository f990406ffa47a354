"""Who may do what in the three partner APIs: the expected tables, written by hand.

The tables below are written out by hand from the National Referral Mechanism, not read
from the services' action tables, so a wrong agency type or scope in the code shows up as
a failing cell:

- first responders (police, councils, designated NGOs) submit referrals; only public
  authorities (police, councils) owe the Duty to Notify (Modern Slavery Act 2015 s.52);
- the competent authorities (SCA, IECA) decide Reasonable and Conclusive Grounds and
  reconsiderations, and refer cases to the police; the IECA alone records immigration
  detention; a competent authority, as the controller of the identifying details, erases them;
- first responders and support providers ask for a reconsideration; the referrer or the
  competent authority may withdraw a referral;
- first responders and competent authorities ask for support; support providers (adults,
  MSVCC) and councils (children) record it; police may also report missing episodes;
- police record crimes, investigations, contact and statements; the CPS decides charges and
  records trial outcomes; either records engagement changes and a Section 45 defence.

Reads are need-to-know: an agency reads the records of journeys it takes part in (404
otherwise, so a journey's existence does not leak), whatever its type; the person's
identifying details only by first responders and competent authorities.
"""

from __future__ import annotations

from tests.integration.services import AGENCIES, BY_TYPE

POLICE = "police_force"
COUNCIL = "local_authority"
NGO = "ngo_first_responder"
HOME_OFFICE = "home_office_first_responder"
ANALYST = "analyst"  # reads analytics only: no partner record, to write or to read
SCA = "competent_authority_sca"
IECA = "competent_authority_ieca"
SUPPORT = "support_provider"
CPS = "cps"
PARTNERS = frozenset({POLICE, COUNCIL, NGO, HOME_OFFICE, SCA, IECA, SUPPORT, CPS})
ALL_TYPES = PARTNERS | {ANALYST}

FIRST_RESPONDERS = frozenset({POLICE, COUNCIL, NGO, HOME_OFFICE})
PUBLIC_AUTHORITIES = frozenset({POLICE, COUNCIL, HOME_OFFICE})  # who owes the Duty to Notify
COMPETENT_AUTHORITIES = frozenset({SCA, IECA})
PROVIDERS = frozenset({SUPPORT, COUNCIL})  # adults under the MSVCC; children by councils
CRIMINAL_JUSTICE = frozenset({POLICE, CPS})

# Every POST of the three services -> the agency types that may make it.
MAY_WRITE: dict[str, frozenset[str]] = {
    # referral service: identification and decisions
    "referral:/v1/referrals": FIRST_RESPONDERS,
    "referral:/v1/duty-to-notify-reports": PUBLIC_AUTHORITIES,
    "referral:/v1/referrals/{resource_id}/reasonable-grounds-decisions": COMPETENT_AUTHORITIES,
    "referral:/v1/referrals/{resource_id}/conclusive-grounds-decisions": COMPETENT_AUTHORITIES,
    "referral:/v1/referrals/{resource_id}/reconsideration-requests": FIRST_RESPONDERS | {SUPPORT},
    "referral:/v1/referrals/{resource_id}/reconsideration-decisions": COMPETENT_AUTHORITIES,
    "referral:/v1/referrals/{resource_id}/withdrawal": FIRST_RESPONDERS | COMPETENT_AUTHORITIES,
    "referral:/v1/referrals/{resource_id}/police-referrals": COMPETENT_AUTHORITIES,
    "referral:/v1/journeys/{journey_id}/erasure": COMPETENT_AUTHORITIES,
    "referral:/v1/immigration-detentions": frozenset({IECA}),
    "referral:/v1/immigration-detentions/{resource_id}/release": frozenset({IECA}),
    # support service: protection
    "support:/v1/support-cases": FIRST_RESPONDERS | COMPETENT_AUTHORITIES,
    "support:/v1/support-cases/{resource_id}/offers": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/acceptance": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/decline": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/first-contact": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/accommodation-stays": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/accommodation-departures": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/contacts": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/needs-assessments": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/legal-representation-requests": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/legal-representation": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/missing-episodes": PROVIDERS | {POLICE},
    "support:/v1/support-cases/{resource_id}/missing-episode-ends": PROVIDERS | {POLICE},
    "support:/v1/support-cases/{resource_id}/recovery-needs-assessments": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/move-on-plans": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/end": PROVIDERS,
    # prosecution service: criminal justice
    "prosecution:/v1/criminal-cases": frozenset({POLICE}),
    "prosecution:/v1/criminal-cases/{resource_id}/investigation": frozenset({POLICE}),
    "prosecution:/v1/criminal-cases/{resource_id}/investigation-closure": frozenset({POLICE}),
    "prosecution:/v1/criminal-cases/{resource_id}/victim-contacts": frozenset({POLICE}),
    "prosecution:/v1/criminal-cases/{resource_id}/statements": frozenset({POLICE}),
    "prosecution:/v1/criminal-cases/{resource_id}/engagement-changes": CRIMINAL_JUSTICE,
    "prosecution:/v1/criminal-cases/{resource_id}/charge-decision": frozenset({CPS}),
    "prosecution:/v1/criminal-cases/{resource_id}/trial-outcome": frozenset({CPS}),
    "prosecution:/v1/criminal-cases/{resource_id}/section-45-defences": CRIMINAL_JUSTICE,
}

# Every GET (but the probes) -> the agency types that may make it, when they take part.
MAY_READ: dict[str, frozenset[str]] = {
    "referral:/v1/referrals/{resource_id}": PARTNERS,
    "referral:/v1/referrals": PARTNERS,
    "referral:/v1/referrals/{resource_id}/identity": FIRST_RESPONDERS | COMPETENT_AUTHORITIES,
    "referral:/v1/duty-to-notify-reports/{resource_id}": PARTNERS,
    "referral:/v1/duty-to-notify-reports": PARTNERS,
    "referral:/v1/immigration-detentions/{resource_id}": PARTNERS,
    "referral:/v1/immigration-detentions": PARTNERS,
    "referral:/v1/journeys/{journey_id}/timeline": PARTNERS,
    "support:/v1/support-cases/{resource_id}": PARTNERS,
    "support:/v1/support-cases": PARTNERS,
    "support:/v1/journeys/{journey_id}/timeline": PARTNERS,
    "prosecution:/v1/criminal-cases/{resource_id}": PARTNERS,
    "prosecution:/v1/criminal-cases": PARTNERS,
    "prosecution:/v1/journeys/{journey_id}/timeline": PARTNERS,
}

# The one scope each endpoint needs: a token with only that scope must do.
WRITE_SCOPE: dict[str, str] = {
    "referral:/v1/referrals": "referrals:write",
    "referral:/v1/duty-to-notify-reports": "referrals:write",
    "referral:/v1/referrals/{resource_id}/reconsideration-requests": "referrals:write",
    "referral:/v1/referrals/{resource_id}/withdrawal": "referrals:write",
    "referral:/v1/referrals/{resource_id}/reasonable-grounds-decisions": "decisions:write",
    "referral:/v1/referrals/{resource_id}/conclusive-grounds-decisions": "decisions:write",
    "referral:/v1/referrals/{resource_id}/reconsideration-decisions": "decisions:write",
    "referral:/v1/referrals/{resource_id}/police-referrals": "decisions:write",
    "referral:/v1/journeys/{journey_id}/erasure": "erasure:write",
    "referral:/v1/immigration-detentions": "detention:write",
    "referral:/v1/immigration-detentions/{resource_id}/release": "detention:write",
    **{key: "support:write" for key in MAY_WRITE if key.startswith("support:")},
    **{key: "justice:write" for key in MAY_WRITE if key.startswith("prosecution:")},
}
READ_SCOPE: dict[str, str] = {
    "referral:/v1/referrals/{resource_id}": "referrals:read",
    "referral:/v1/referrals": "referrals:read",
    "referral:/v1/referrals/{resource_id}/identity": "identity:read",
    "referral:/v1/duty-to-notify-reports/{resource_id}": "referrals:read",
    "referral:/v1/duty-to-notify-reports": "referrals:read",
    "referral:/v1/immigration-detentions/{resource_id}": "referrals:read",
    "referral:/v1/immigration-detentions": "referrals:read",
    "referral:/v1/journeys/{journey_id}/timeline": "referrals:read",
    "support:/v1/support-cases/{resource_id}": "support:read",
    "support:/v1/support-cases": "support:read",
    "support:/v1/journeys/{journey_id}/timeline": "support:read",
    "prosecution:/v1/criminal-cases/{resource_id}": "justice:read",
    "prosecution:/v1/criminal-cases": "justice:read",
    "prosecution:/v1/journeys/{journey_id}/timeline": "justice:read",
}

SUCCESS = {"referral:/v1/journeys/{journey_id}/erasure": 200}  # otherwise 201 Created

R, S, P = "referral", "support", "prosecution"
ROUTED_TO = {SCA: "sca", IECA: "ieca"}
DECIDER = {"sca": SCA, "ieca": IECA}
# A second agency of a type, for "the right type, but not on this journey".
OTHER_AGENCY = {
    t: next(a.id for a in AGENCIES if a.type.value == t and a.id != BY_TYPE[t])
    for t in sorted(ALL_TYPES)
    if sum(a.type.value == t for a in AGENCIES) > 1
}


def service_of(key: str) -> str:
    return key.split(":", 1)[0]


def path_of(key: str) -> str:
    return key.split(":", 1)[1]


def first_allowed(table: dict[str, frozenset[str]], key: str) -> str:
    return sorted(table[key])[0]
