"""A hand-written analytics service for the dashboard, fulfilled inside Chromium.

Shapes as the analytics API serves them, with some cells suppressed (null), so the page
can be checked without a database: playwright answers every request to FAKE_ORIGIN from
here, charts rendered by the real analytics.charts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.async_api import Route

from analytics.charts import render
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
}


def _dropoff(
    group: str, label: str, counts: tuple[int | None, int | None, int | None, int | None]
) -> dict[str, Any]:
    raised, open_, resolved, journeys = counts
    median = None if resolved is None else 14.5
    return {
        "group": group,
        "label": label,
        "raised": raised,
        "open": open_,
        "resolved": resolved,
        "journeys": journeys,
        "median_days_to_resolution": median,
    }


def _dropoffs(by: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "by": by,
        "period": PERIOD,
        "threshold": 10,
        "journeys_in_period": 240,
        "rows": rows,
        "total": _dropoff("all", "All", (70, 25, 45, 61)),
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
        _dropoff("no-support-contact", "No support contact", (22, None, 13, 21)),
        _dropoff("move-on-cliff-edge", "Move-on cliff edge", (None, None, None, None)),
    ],
)


def _curve(per_day: float, until: int) -> list[dict[str, float]]:
    return [
        {"days": float(day), "survival": round(max(0.0, 1 - per_day * day), 4)}
        for day in range(0, until, 3)
    ]


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
    },
]
_MEASURES = {measure["measure"]: measure for measure in TIME_TO_EVENT}
_CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


@dataclass
class FakeAnalytics:
    """Answers the dashboard's requests; `fail` makes one API path answer with an error."""

    fail: dict[str, int] = field(default_factory=dict)
    authorisations: list[str | None] = field(default_factory=list)

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
        elif path == "/v1/time-to-event":
            await route.fulfill(json=_MEASURES[query["measure"][0]])
        else:
            await route.fulfill(status=404, body=json.dumps({"detail": "no such path"}))
