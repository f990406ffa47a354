"""What partners may record in the referral service, and which agency types may record it."""

from __future__ import annotations

from journey_api.domain.records import Action
from nrm_domain.agencies import COMPETENT_AUTHORITIES, FIRST_RESPONDERS, AgencyType

SUPPORT = frozenset({AgencyType.SUPPORT_PROVIDER})
PUBLIC_AUTHORITIES = frozenset(
    {AgencyType.POLICE_FORCE, AgencyType.LOCAL_AUTHORITY, AgencyType.HOME_OFFICE_FIRST_RESPONDER}
)

SUBMIT_REFERRAL = Action(
    "referral",
    "uk.nrm.referral.submitted",
    "referrals:write",
    FIRST_RESPONDERS,
    "submit an NRM referral",
)
# The Duty to Notify (Modern Slavery Act 2015 s.52) falls on public authorities only.
REPORT_DUTY_TO_NOTIFY = Action(
    "duty_to_notify_report",
    "uk.nrm.duty-to-notify.reported",
    "referrals:write",
    PUBLIC_AUTHORITIES,
    "send a Duty to Notify report",
)
DECIDE_REASONABLE_GROUNDS = Action(
    "reasonable_grounds_decision",
    "uk.nrm.reasonable-grounds.decided",
    "decisions:write",
    COMPETENT_AUTHORITIES,
    "record a Reasonable Grounds decision",
)
START_RECOVERY_PERIOD = Action(
    "recovery_period_start",
    "uk.nrm.recovery-period.started",
    "decisions:write",
    COMPETENT_AUTHORITIES,
    "start a recovery period",
)
END_RECOVERY_PERIOD = Action(
    "recovery_period_end",
    "uk.nrm.recovery-period.ended",
    "decisions:write",
    COMPETENT_AUTHORITIES | FIRST_RESPONDERS,
    "end a recovery period",
)
DECIDE_CONCLUSIVE_GROUNDS = Action(
    "conclusive_grounds_decision",
    "uk.nrm.conclusive-grounds.decided",
    "decisions:write",
    COMPETENT_AUTHORITIES,
    "record a Conclusive Grounds decision",
)
REQUEST_RECONSIDERATION = Action(
    "reconsideration_request",
    "uk.nrm.reconsideration.requested",
    "referrals:write",
    FIRST_RESPONDERS | SUPPORT,
    "request a reconsideration",
)
DECIDE_RECONSIDERATION = Action(
    "reconsideration_decision",
    "uk.nrm.reconsideration.decided",
    "decisions:write",
    COMPETENT_AUTHORITIES,
    "decide a reconsideration",
)
WITHDRAW_REFERRAL = Action(
    "referral_withdrawal",
    "uk.nrm.referral.withdrawn",
    "referrals:write",
    COMPETENT_AUTHORITIES | FIRST_RESPONDERS,
    "withdraw a referral",
)
REFER_TO_POLICE = Action(
    "police_referral",
    "uk.nrm.police-referral.made",
    "decisions:write",
    COMPETENT_AUTHORITIES,
    "refer a case to the police",
)
# People in immigration detention are referred to, and decided by, the IECA.
ENTER_DETENTION = Action(
    "immigration_detention",
    "uk.nrm.immigration-detention.entered",
    "detention:write",
    frozenset({AgencyType.COMPETENT_AUTHORITY_IECA}),
    "record immigration detention",
)
LEAVE_DETENTION = Action(
    "immigration_detention_end",
    "uk.nrm.immigration-detention.left",
    "detention:write",
    frozenset({AgencyType.COMPETENT_AUTHORITY_IECA}),
    "record leaving immigration detention",
)
