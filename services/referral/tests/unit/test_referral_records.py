"""Each record table entry declares the kinds its follow-ups record, so the reads' schemas
(a union of every kind a referral holds) cover what a referral's history can contain."""

from __future__ import annotations

from journey_api.testing import history
from referral.api.referrals import REFERRAL_SPECS


def test_every_follow_up_recorded_is_declared() -> None:
    # A positive decision starts a recovery period; later records end the open one.
    open_period = history(
        ("referral", {"competent_authority": "sca", "region": "london"}),
        ("reasonable_grounds_decision", {"outcome": "positive"}),
        ("recovery_period_start", {"minimum_days": 30, "nation": "england"}),
    )
    for spec in REFERRAL_SPECS:
        if spec.follow_ups is None:
            assert not spec.follow_up_actions
            continue
        recorded = spec.follow_ups(open_period, {"outcome": "positive"})
        assert recorded, f"{spec.action.kind}: no follow-up on this history"
        assert {action for action, _ in recorded} <= set(spec.follow_up_actions)
