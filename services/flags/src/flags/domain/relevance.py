"""Which drop-off rules each agency type is told about, written by hand.

A flag is shown to an agency when the agency takes part in the journey (participants.py)
AND the flag's rule is relevant to the agency's type: something that agency can act on.
Telling every participant about every flag would bury the flags each one can act on,
and would show, say, the CPS the support history of a witness. Sources: the shared domain
brief (sections 1 and 3) and each rule's rationale in the processor's catalogue
(services/journey-processor/src/journey_processor/core/rules/catalogue.yaml). The same
table is in services/flags/README.md.
"""

from __future__ import annotations

from nrm_domain.agencies import AgencyType

# The support-stage rules: what a provider (MSVCC for adults, the council for children)
# does day to day: first contact in 48 hours, regular contact, finding missing people,
# support until the Conclusive Grounds decision, move-on, legal advice.
SUPPORT = frozenset(
    {
        "no-first-contact",
        "no-support-contact",
        "missing-episode",
        "support-ended-conclusive-grounds-pending",
        "move-on-cliff-edge",
        "no-legal-representation",
    }
)

RELEVANT: dict[AgencyType, frozenset[str]] = {
    # The provider supporting the person: every support-stage rule; a negative decision
    # not reconsidered (a reconsideration is asked by the first responder or the support
    # provider); detention of someone it supports (it arranges the legal help to challenge it).
    AgencyType.SUPPORT_PROVIDER: SUPPORT
    | {"negative-decision-not-reconsidered", "detained-while-decision-stands-or-pending"},
    # Councils support children (so the support rules, as a provider), send Duty to
    # Notify reports for adults who decline referral (they can offer referral again), may
    # ask for a reconsideration as first responder, and safeguard against re-trafficking.
    AgencyType.LOCAL_AUTHORITY: SUPPORT
    | {"adult-declined-referral", "negative-decision-not-reconsidered", "re-referral"},
    # Police: the criminal-justice rules are theirs (crime recording, victim contact,
    # withdrawal); they look for missing people; as a public-authority first responder
    # they send Duty to Notify reports and may ask for a reconsideration; re-trafficking
    # is a crime to prevent.
    AgencyType.POLICE_FORCE: frozenset(
        {
            "police-referral-no-crime",
            "investigation-no-victim-contact",
            "victim-withdrew",
            "missing-episode",
            "adult-declined-referral",
            "negative-decision-not-reconsidered",
            "re-referral",
        }
    ),
    # A designated NGO first responder follows its referrals through identification: it
    # can chase an overdue decision, ask for a reconsideration, and meets re-referred
    # people again. NGOs do not send Duty to Notify reports (public authorities only).
    AgencyType.NGO_FIRST_RESPONDER: frozenset(
        {
            "reasonable-grounds-overdue",
            "conclusive-grounds-pending",
            "negative-decision-not-reconsidered",
            "re-referral",
        }
    ),
    # Home Office first responders: as NGO first responders, and they send Duty to Notify
    # reports by policy.
    AgencyType.HOME_OFFICE_FIRST_RESPONDER: frozenset(
        {
            "reasonable-grounds-overdue",
            "conclusive-grounds-pending",
            "negative-decision-not-reconsidered",
            "re-referral",
            "adult-declined-referral",
        }
    ),
    # The competent authorities: their own overdue decisions, and detention of someone
    # whose positive decision stands or whose decision is pending (protection from
    # removal during the recovery period is theirs to uphold).
    AgencyType.COMPETENT_AUTHORITY_SCA: frozenset(
        {
            "reasonable-grounds-overdue",
            "conclusive-grounds-pending",
            "detained-while-decision-stands-or-pending",
        }
    ),
    AgencyType.COMPETENT_AUTHORITY_IECA: frozenset(
        {
            "reasonable-grounds-overdue",
            "conclusive-grounds-pending",
            "detained-while-decision-stands-or-pending",
        }
    ),
    # The CPS: a victim withdrawing from a prosecution it holds (special measures,
    # witness care, or a decision on whether to continue).
    AgencyType.CPS: frozenset({"victim-withdrew"}),
    # Analysts see flags only in aggregate, under disclosure control (analytics service).
    AgencyType.ANALYST: frozenset(),
}


def relevant_rules(agency_type: AgencyType) -> frozenset[str]:
    return RELEVANT.get(agency_type, frozenset())


def concerns(agency_type: AgencyType, rule_id: str) -> bool:
    """Whether an agency of this type is told about flags of this rule."""
    return rule_id in relevant_rules(agency_type)
