"""Driving the analysts' dashboard in headless Chromium, and what its numbers should be.

The page writes every number with a data-testid and its exact value in data-value;
`expected` derives the same testids and values from the API's JSON, so a test compares
two dictionaries and a mismatch names the cell.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, ConsoleMessage, Page, Response, async_playwright
from playwright.async_api import Error as PlaywrightError

# Debian's chromium: the test machines cannot download playwright's own browser.
CHROMIUM = Path("/usr/bin/chromium")
STATIC = (
    Path(__file__).resolve().parents[2] / "services" / "analytics" / "src" / "analytics" / "static"
)
MEASURES = (
    "referral_to_reasonable_grounds",
    "reasonable_grounds_to_conclusive_grounds",
    "support_entry_to_exit",
)
CHARTS = ("funnel", "dropoff-rates", "time-to-event")
DROPOFF_FIELDS = ("raised", "open", "resolved", "journeys", "median_days_to_resolution")
LOAD_TIMEOUT_MS = 30_000

JSON = Mapping[str, Any]
# None: suppressed; "not-reached": a median not reached; "n/a": the first step's conversion
Value = int | float | str | None


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            await browser.close()


def script_errors(page: Page) -> list[str]:
    """A list that fills with every uncaught exception the page's script throws."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def console_errors(page: Page) -> list[str]:
    """A list that fills with every error the page logs: a Content Security Policy
    violation (a blocked script, style or fetch) is one."""
    errors: list[str] = []

    def logged(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", logged)
    return errors


async def assert_policy_enforced(page: Page, response: Response | None) -> None:
    """The page came with a policy that forbids inline script, and the browser applies
    it: an inline script added now is refused, not run."""
    assert response is not None
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, policy
    with contextlib.suppress(PlaywrightError):  # refusing it may also reject the promise
        await page.add_script_tag(content="window.inlineScriptRan = true")
    assert await page.evaluate("window.inlineScriptRan") is None


async def settled(page: Page) -> None:
    """Wait until the page says it has loaded everything, or has failed (then raise)."""
    await page.wait_for_selector(
        'body[data-ready="true"], body[data-error]', state="attached", timeout=LOAD_TIMEOUT_MS
    )
    error = await page.get_attribute("body", "data-error")
    if error is not None:
        raise AssertionError(f"the dashboard failed: {error}")


async def shown(page: Page) -> dict[str, tuple[str, str]]:
    """testid -> (data-value, text as displayed) for every number on the page."""
    cells: list[list[str]] = await page.eval_on_selector_all(
        "[data-testid][data-value]",
        "cells => cells.map(c => [c.dataset.testid, c.dataset.value, c.textContent.trim()])",
    )
    return {testid: (value, text) for testid, value, text in cells}


def parse(data_value: str) -> Value:
    """A data-value as the API would have said it; integers must carry no separators."""
    if data_value == "suppressed":
        return None
    if data_value in ("not-reached", "n/a"):
        return data_value
    if re.fullmatch(r"-?\d+", data_value):
        return int(data_value)
    return float(data_value)


def expected(
    funnel: JSON, by_stage: JSON, by_rule: JSON, measures: Sequence[JSON], nrm: JSON
) -> dict[str, Value]:
    """testid -> value for every number the dashboard should show for these answers."""
    values: dict[str, Value] = expected_nrm(nrm)
    for index, step in enumerate(funnel["steps"]):
        values[f"funnel-count-{step['step']}"] = step["count"]
        first = index == 0 and step["conversion"] is None  # nothing before it, not hidden
        values[f"funnel-conversion-{step['step']}"] = "n/a" if first else step["conversion"]
    values["dropoffs-journeys-in-period"] = by_stage["journeys_in_period"]
    for dropoffs in (by_stage, by_rule):
        by, in_period = dropoffs["by"], dropoffs["journeys_in_period"]
        for row in [*dropoffs["rows"], {**dropoffs["total"], "group": "all"}]:
            for field in DROPOFF_FIELDS:
                values[f"dropoffs-{by}-{field}-{row['group']}"] = row[field]
            values[f"dropoffs-{by}-rate-{row['group']}"] = rate(row["journeys"], in_period)
    for measure in measures:
        name = measure["measure"]
        for field in ("at_risk", "events", "censored"):
            values[f"tte-{field}-{name}"] = measure[field]
        median = measure["median_days"]
        published = measure["at_risk"] is not None and measure["events"] is not None
        reached = median is not None or not published
        values[f"tte-median_days-{name}"] = median if reached else "not-reached"
    return values


def expected_nrm(nrm: JSON) -> dict[str, Value]:
    """testid -> value for the numbers of the published-vs-measured panel."""
    values: dict[str, Value] = {}
    for table in nrm["tables"]:
        for row in table["rows"]:
            name = f"{table['name']}-{row['group']}"
            values[f"nrm-count-{name}"] = row["count"]
            values[f"nrm-share-{name}"] = None if row["count"] is None else row["share"]
    return values


def expected_labels(
    funnel: JSON, by_stage: JSON, by_rule: JSON, measures: Sequence[JSON], nrm: JSON
) -> dict[str, str]:
    """testid -> what the page must say there when the API hid the value (its label)."""
    said: dict[str, str] = {}
    for table in nrm["tables"]:
        for row in table["rows"]:
            name = f"{table['name']}-{row['group']}"
            said[f"nrm-count-{name}"] = nrm["labels"]["count"]
            said[f"nrm-share-{name}"] = nrm["labels"]["share"]
    for step in funnel["steps"]:
        said[f"funnel-count-{step['step']}"] = funnel["labels"]["count"]
        said[f"funnel-conversion-{step['step']}"] = funnel["labels"]["conversion"]
    said["dropoffs-journeys-in-period"] = by_stage["labels"]["journeys_in_period"]
    for dropoffs in (by_stage, by_rule):
        by = dropoffs["by"]
        for row in [*dropoffs["rows"], {**dropoffs["total"], "group": "all"}]:
            for field in DROPOFF_FIELDS:
                said[f"dropoffs-{by}-{field}-{row['group']}"] = dropoffs["labels"][field]
            said[f"dropoffs-{by}-rate-{row['group']}"] = RATE_HIDDEN
    for measure in measures:
        for field in ("at_risk", "events", "censored", "median_days"):
            said[f"tte-{field}-{measure['measure']}"] = measure["labels"][field]
    return said


WHATIF_FIELDS = ("actual", "whatif", "added", "removed", "earlier", "later", "whatif_resolved")


def expected_whatif(whatif: JSON) -> tuple[dict[str, Value], dict[str, str]]:
    """testid -> value, and testid -> label, for the what-if result table."""
    values: dict[str, Value] = {"whatif-journeys_affected": whatif["journeys_affected"]}
    said = {"whatif-journeys_affected": whatif["labels"]["journeys_affected"]}
    for row in whatif["rules"]:
        for field in WHATIF_FIELDS:
            values[f"whatif-{field}-{row['rule_id']}"] = row[field]
            said[f"whatif-{field}-{row['rule_id']}"] = whatif["labels"][field]
    return values, said


async def replay_whatif(
    page: Page, rule: str, within: Mapping[str, int], **dates: str
) -> dict[str, tuple[str, str]]:
    """Fill the what-if form (dates: from, to, until as YYYY-MM-DD), submit it, and
    return the result table's cells once the page says it has them."""
    [(unit, amount)] = within.items()
    await page.get_by_test_id("whatif-rule").select_option(rule)
    await page.get_by_test_id("whatif-amount").fill(str(amount))
    await page.get_by_test_id("whatif-unit").select_option(unit)
    for name, day in dates.items():
        await page.get_by_test_id(f"whatif-{name}").fill(day)
    await page.get_by_test_id("whatif-submit").click()
    await page.wait_for_selector(
        '[data-testid="whatif-form"][data-ready], [data-testid="whatif-form"][data-failed]',
        state="attached",
        timeout=LOAD_TIMEOUT_MS,
    )
    if await page.get_by_test_id("whatif-form").get_attribute("data-failed") is not None:
        said = await page.get_by_test_id("whatif-status").inner_text()
        raise AssertionError(f"the what-if failed: {said}")
    return {k: v for k, v in (await shown(page)).items() if k.startswith("whatif-")}


RATE_HIDDEN = "not published (a count it is worked out from is suppressed)"


def rate(journeys: int | None, in_period: int | None) -> float | None:
    if journeys is None or not in_period:
        return None
    return journeys / in_period


def mismatches(
    page_cells: Mapping[str, tuple[str, str]],
    want: Mapping[str, Value],
    labels: Mapping[str, str] | None = None,
) -> list[str]:
    """Every way the page differs from the API: missing, extra, wrong value or wrong text
    (a hidden value must read as the API's label for it: what was hidden, and why)."""
    problems = [f"missing {testid}" for testid in want.keys() - page_cells.keys()]
    problems += [f"not in the API: {testid}" for testid in page_cells.keys() - want.keys()]
    for testid in sorted(want.keys() & page_cells.keys()):
        data_value, text = page_cells[testid]
        value = want[testid]
        if parse(data_value) != value:
            problems.append(f"{testid}: page {data_value!r}, API {value!r}")
        elif value is None and labels is not None and " ".join(text.split()) != labels[testid]:
            problems.append(f"{testid}: hidden, {labels[testid]!r}, displayed as {text!r}")
        elif value is None and not text.startswith(("suppressed", "not published")):
            problems.append(f"{testid}: suppressed but displayed as {text!r}")
        elif isinstance(value, int) and text.replace(",", "") != str(value):
            problems.append(f"{testid}: {value} displayed as {text!r}")
    return problems


async def chart_sizes(page: Page) -> dict[str, tuple[float, float]]:
    """chart name -> (width, height) of its inline SVG as laid out, (0, 0) when absent."""
    sizes: dict[str, tuple[float, float]] = {}
    for name in CHARTS:
        svg = page.locator(f'[data-testid="chart-{name}"] svg')
        box = await svg.bounding_box() if await svg.count() == 1 else None
        sizes[name] = (box["width"], box["height"]) if box else (0.0, 0.0)
    return sizes
