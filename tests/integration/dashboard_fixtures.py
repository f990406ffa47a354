"""A hand-written analytics service for the dashboard, fulfilled inside Chromium.

Shapes as the analytics API serves them, with some cells suppressed (null), so the page
can be checked without a database: playwright answers every request to FAKE_ORIGIN from
here, charts rendered by the real analytics.api.charts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.async_api import Route

from analytics.api.charts import render
from analytics.domain.disclosure import hidden_count, hidden_statistic
from analytics.domain.dropoffs import labels as dropoff_labels
from analytics.domain.funnel import CONVERSION_HIDDEN
from analytics.domain.nrm_layout import Quarter
from analytics.domain.nrm_statistics import Measured, Referral
from analytics.domain.nrm_statistics import render as nrm_render
from analytics.domain.survival import NOT_REACHED
from analytics.domain.whatif import RuleDifference, answer
from tests.integration.dashboard_page import STATIC

FAKE_ORIGIN = "http://analytics.test"
TOKEN = "fixture-token"
PERIOD: dict[str, Any] = {"from": None, "to": None}

_STEPS = [
    ("referred", "Referral", 240, None),
    ("reasonable_grounds_decided", "Reasonable Grounds decision", 200, 0.833),
    ("reasonable_grounds_positive", "Positive Reasonable Grounds", 150, 0.75),
    ("support_entered", "Support entered", 120, 0.8),
    ("conclusive_grounds_decided", "Conclusive Grounds decision", 60, 0.5),
    ("conclusive_grounds_positive", "Positive Conclusive Grounds", 45, 0.75),
    ("police_referral", "Police referral", 30, 0.667),
    ("crime_recorded", "Crime recorded", 12, 0.4),
    ("charged", "Charged", None, None),
    ("convicted", "Convicted", None, None),
]
FUNNEL: dict[str, Any] = {
    "period": PERIOD,
    "threshold": 10,
    "steps": [
        {"step": step, "label": label, "count": count, "conversion": conversion}
        for step, label, count, conversion in _STEPS
    ],
    "labels": {"count": hidden_count(10, "journeys"), "conversion": CONVERSION_HIDDEN},
}


def _dropoff(
    group: str,
    label: str,
    counts: tuple[int | None, int | None, int | None, int | None],
    band: tuple[int, int | None] | None = None,
) -> dict[str, Any]:
    raised, open_, resolved, journeys = counts
    if band is None and resolved:
        band = (resolved, resolved)
    return {
        "group": group,
        "label": label,
        "raised": raised,
        "open": open_,
        "resolved": resolved,
        "journeys": journeys,
        "median_days_to_resolution": None if band is None else 14.5,
        "median_n_low": None if band is None else band[0],
        "median_n_high": None if band is None else band[1],
    }


def _dropoffs(by: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "by": by,
        "period": PERIOD,
        "threshold": 10,
        "journeys_in_period": 240,
        "rows": rows,
        "total": _dropoff("all", "All", (70, 25, 45, 61)),
        "labels": dropoff_labels(10),
    }


BY_STAGE = _dropoffs(
    "stage",
    [
        _dropoff("identification", "Identification", (30, 12, 18, 28)),
        _dropoff("support", "Support", (35, 11, 24, 29)),
        _dropoff("criminal_justice", "Criminal justice", (None, None, None, None)),
    ],
)
BY_RULE = _dropoffs(
    "rule",
    [
        _dropoff("reasonable-grounds-overdue", "Reasonable Grounds overdue", (30, 12, 18, 28)),
        # Issue 16's cases: a median over a hidden resolved count, its n as a band; and
        # a rule nothing resolves, its resolved count a published zero.
        _dropoff("victim-withdrew", "Victim withdrew", (45, None, None, 40), band=(36, 45)),
        _dropoff("adult-declined-referral", "Adult declined referral", (24, 24, 0, 24)),
        _dropoff("no-support-contact", "No support contact", (22, None, 13, 21)),
        _dropoff("move-on-cliff-edge", "Move-on cliff edge", (None, None, None, None)),
    ],
)


def _curve(per_day: float, until: int) -> list[dict[str, float]]:
    return [
        {"days": float(day), "survival": round(max(0.0, 1 - per_day * day), 4)}
        for day in range(0, until, 3)
    ]


_WAIT_LABELS = {
    **{field: hidden_count(10, "journeys") for field in ("at_risk", "events", "censored")},
    "median_days": hidden_statistic(10, "journeys or events"),
}
TIME_TO_EVENT: list[dict[str, Any]] = [
    {
        "measure": "referral_to_reasonable_grounds",
        "label": "Referral to Reasonable Grounds",
        "period": PERIOD,
        "threshold": 10,
        "at_risk": 240,
        "events": 200,
        "censored": 40,
        "median_days": 21.5,
        "curve": _curve(0.02, 45),
        "labels": _WAIT_LABELS,
    },
    {
        "measure": "reasonable_grounds_to_conclusive_grounds",
        "label": "Reasonable Grounds to Conclusive Grounds",
        "period": PERIOD,
        "threshold": 10,
        "at_risk": 150,
        "events": 60,
        "censored": 90,
        "median_days": None,  # fewer than half decided: not reached, not suppressed
        "curve": _curve(0.004, 90),
        "labels": {**_WAIT_LABELS, "median_days": NOT_REACHED},
    },
    {
        "measure": "support_entry_to_exit",
        "label": "Support entry to exit",
        "period": PERIOD,
        "threshold": 10,
        "at_risk": None,
        "events": None,
        "censored": None,
        "median_days": None,
        "curve": [],
        "labels": _WAIT_LABELS,
    },
]
_MEASURES = {measure["measure"]: measure for measure in TIME_TO_EVENT}


def _nrm() -> dict[str, Any]:
    """The quarterly tables for 40 referrals: 30 adults and 10 children from Albania and
    the UK, and 4 of unknown age (hidden, with the children's count beside them)."""
    referral = Referral("police", "adult", "sca", ["labour"], "albania", "male")
    referrals = [referral] * 30
    referrals += [Referral("local_authority", "child", "sca", ["criminal"], "uk", "female")] * 10
    referrals += [Referral("ngo", "unknown", "ieca", ["sexual"], "iran", "male")] * 4
    measured = Measured(
        referrals=referrals,
        decisions={
            "reasonable_grounds_decisions": (21, 19),
            "conclusive_grounds_decisions": (12, 0),
        },
        duty_to_notify_reports=12,
        days_to_conclusive_grounds=[float(d) for d in range(500, 512)],
    )
    return nrm_render(measured, Quarter(2024, 4), threshold=10)


NRM = _nrm()
WHATIF_RULE = "reasonable-grounds-overdue"
WHATIF_RULES = [
    {"rule_id": "support-first-contact-overdue", "title": "First contact overdue",
     "stage": "support", "deployed": {"hours": 48}},
    {"rule_id": WHATIF_RULE, "title": "Reasonable Grounds decision overdue",
     "stage": "identification", "deployed": {"working_days": 5}},
]  # fmt: skip


def _whatif() -> dict[str, Any]:
    """A longer Reasonable Grounds deadline: 24 flagged, 12 removed, 12 due later; the
    added 0 hidden, and the what-if 12 with it (24 + 0 = 12 + 12 would give it away)."""
    counts = {"actual": 24, "whatif": 12, "added": 0, "removed": 12, "earlier": 0,
              "later": 12, "whatif_resolved": 12}  # fmt: skip
    journeys = {f"journey-{n}" for n in range(24)}
    return {
        **answer({WHATIF_RULE: RuleDifference(counts, journeys)}, threshold=10),
        "period": PERIOD,
        "overrides": {WHATIF_RULE: {"working_days": 10}},
        "timing": {"read_seconds": 1.25, "replay_seconds": 2.5},
    }


WHATIF = _whatif()
_CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


@dataclass
class FakeAnalytics:
    """Answers the dashboard's requests; `fail` makes one API path answer with an error."""

    fail: dict[str, int] = field(default_factory=dict)
    authorisations: list[str | None] = field(default_factory=list)
    whatif_bodies: list[Any] = field(default_factory=list)

    async def handle(self, route: Route) -> None:
        url = urlsplit(route.request.url)
        if url.path == "/dashboard":
            await self._file(route, "dashboard.html")
        elif url.path.startswith("/static/"):
            await self._file(route, url.path.removeprefix("/static/"))
        elif url.path.startswith("/v1/"):
            await self._api(route, url.path, parse_qs(url.query))
        else:
            await route.fulfill(status=404)

    async def _file(self, route: Route, name: str) -> None:
        path = STATIC / name
        if not path.is_file():
            await route.fulfill(status=404)
            return
        await route.fulfill(body=path.read_bytes(), content_type=_CONTENT_TYPES[path.suffix])

    async def _api(self, route: Route, path: str, query: dict[str, list[str]]) -> None:
        authorisation = route.request.headers.get("authorization")
        self.authorisations.append(authorisation)
        if path in self.fail:
            await route.fulfill(status=self.fail[path], json={"detail": "refused"})
        elif authorisation != f"Bearer {TOKEN}":
            await route.fulfill(status=401, json={"detail": "not authenticated"})
        elif path.startswith("/v1/charts/") and path.endswith(".svg"):
            name = path.removeprefix("/v1/charts/").removesuffix(".svg")
            data: dict[str, Any] = {
                "funnel": FUNNEL,
                "dropoff-rates": BY_STAGE,
                "time-to-event": TIME_TO_EVENT,
            }
            body = render(name, data[name], "svg")
            await route.fulfill(body=body, content_type="image/svg+xml")
        elif path == "/v1/funnel":
            await route.fulfill(json=FUNNEL)
        elif path == "/v1/dropoffs":
            by = query.get("by", ["stage"])[0]
            await route.fulfill(json={"stage": BY_STAGE, "rule": BY_RULE}[by])
        elif path == "/v1/nrm-statistics":
            await route.fulfill(json={**NRM, "quarter": query.get("quarter", ["?"])[0]})
        elif path == "/v1/whatif/rules":
            await route.fulfill(json=WHATIF_RULES)
        elif path == "/v1/whatif" and route.request.method == "POST":
            self.whatif_bodies.append(route.request.post_data_json)
            await route.fulfill(json=WHATIF)
        elif path == "/v1/time-to-event":
            await route.fulfill(json=_MEASURES[query["measure"][0]])
        else:
            await route.fulfill(status=404, body=json.dumps({"detail": "no such path"}))
