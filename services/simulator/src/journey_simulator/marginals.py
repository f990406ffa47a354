"""A cohort's marginals: its shares beside the published ones it is calibrated on, and the
drop-offs it injects (kept with the cohort and its ground truth)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from journey_simulator import calibration
from journey_simulator.plan import JourneyPlan


def _shares(values: list[Any]) -> dict[str, float]:
    counts = Counter(str(v) for v in values)
    total = sum(counts.values()) or 1
    return {k: round(v / total, 4) for k, v in sorted(counts.items())}


def marginals(plans: list[JourneyPlan], cal: calibration.Calibration) -> dict[str, Any]:
    """The cohort's shares beside the published ones, and what it injects."""
    referred = [p.profile for p in plans if p.kind == "referral"]
    decided = [p["rg_positive"] for p in referred if "rg_positive" in p]
    concluded = [p["cg_positive"] for p in referred if "cg_positive" in p]
    nationality = _shares([p["nationality_group"] for p in referred])
    injected: Counter[str] = Counter()
    for plan in plans:
        injected.update(plan.injected)
    requests = sum(len(p.actions) for p in plans)
    return {
        "people": len(plans),
        "referred": len(referred),
        "duty_to_notify_share": round(1 - len(referred) / max(len(plans), 1), 4),
        "age_group": _shares([p["age_group"] for p in referred]),
        "competent_authority": _shares([p["competent_authority"] for p in referred]),
        "rg_positive": {"positive": _shares(decided).get("True", 0.0)},
        "cg_positive": {"positive": _shares(concluded).get("True", 0.0)},
        "nationality_top5": {k: nationality.get(k, 0.0) for k in calibration.TOP_NATIONALITIES},
        "first_responder": _shares([p["first_responder"] for p in referred]),
        "gender": _shares([p["gender"] for p in referred]),
        "re_referred_share": _shares([p.get("re_referred", False) for p in referred]).get(
            "True", 0.0
        ),
        "targets": cal.marginal_targets(),
        "injected": dict(sorted(injected.items())),
        "journeys_with_drop_offs": sum(1 for p in plans if p.injected),
        "requests": requests,
        "requests_per_journey": round(requests / max(len(plans), 1), 2),
    }
