"""The agencies that take part in the National Referral Mechanism, by type.

First responders may refer a potential victim (Modern Slavery Statutory Guidance, Annex
A); the competent authorities (the Single Competent Authority and the Immigration
Enforcement Competent Authority) decide Reasonable and Conclusive Grounds; support
providers deliver the Modern Slavery Victim Care Contract (MSVCC); the CPS prosecutes.
"""

from __future__ import annotations

from enum import StrEnum


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
