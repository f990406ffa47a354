"""Charts of the analytics API's answers: valid SVG and PNG, suppressed cells drawn as such."""

from __future__ import annotations

import copy
import struct
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from analytics.api.charts import CHARTS, render, suppressed_label

SVG = "{http://www.w3.org/2000/svg}"
PERIOD = {"from": None, "to": None}
STEPS = [
    ("referred", "Referral", 480),
    ("reasonable_grounds_decided", "Reasonable Grounds decision", 400),
    ("reasonable_grounds_positive", "Positive Reasonable Grounds", 300),
    ("support_entered", "Support entered", 240),
    ("conclusive_grounds_decided", "Conclusive Grounds decision", 120),
    ("conclusive_grounds_positive", "Positive Conclusive Grounds", 90),
    ("police_referral", "Police referral", 60),
    ("crime_recorded", "Crime recorded", 25),
    ("charged", "Charged", None),
    ("convicted", "Convicted", None),
]


def funnel() -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    previous: int | None = None
    for step, label, count in STEPS:
        conversion = None
        if count is not None and previous is not None:
            conversion = round(count / previous, 3)
        steps.append({"step": step, "label": label, "count": count, "conversion": conversion})
        previous = count
    return {"period": PERIOD, "threshold": 10, "steps": steps}


def row(group: str, label: str, journeys: int | None) -> dict[str, Any]:
    counts: dict[str, Any] = {
        "raised": None,
        "open": None,
        "resolved": None,
        "journeys": None,
        "median_days_to_resolution": None,
    }
    if journeys is not None:
        counts = {
            "raised": journeys + 4,
            "open": 12,
            "resolved": journeys - 8,
            "journeys": journeys,
            "median_days_to_resolution": 11.5,
        }
    return {"group": group, "label": label, **counts}


def dropoffs() -> dict[str, Any]:
    return {
        "by": "stage",
        "period": PERIOD,
        "threshold": 10,
        "journeys_in_period": 480,
        "rows": [
            row("identification", "Identification", 40),
            row("support", "Support", 64),
            row("criminal_justice", "Criminal justice", None),
        ],
        "total": row("all", "All", 90),
    }


def measure(name: str, median: float | None, at_risk: int | None) -> dict[str, Any]:
    curve = (
        [] if at_risk is None else [{"days": float(d), "survival": 1 - d / 60} for d in range(40)]
    )
    return {
        "measure": name,
        "label": name.replace("_", " ").capitalize(),
        "period": PERIOD,
        "threshold": 10,
        "at_risk": at_risk,
        "events": None if at_risk is None else at_risk // 2,
        "censored": None if at_risk is None else at_risk - at_risk // 2,
        "median_days": median,
        "curve": curve,
    }


def time_to_event() -> list[dict[str, Any]]:
    return [
        measure("referral_to_reasonable_grounds", 30.0, 480),
        measure("reasonable_grounds_to_conclusive_grounds", None, 300),
        measure("support_entry_to_exit", None, None),
    ]


DATA: dict[str, Any] = {
    "funnel": funnel(),
    "dropoff-rates": dropoffs(),
    "time-to-event": time_to_event(),
}


def svg_text(svg: bytes) -> str:
    """Every piece of text in the SVG, as a reader (or a screen reader) would get it."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return " ".join("".join(element.itertext()) for element in root.iter(f"{SVG}text"))


@pytest.mark.parametrize("name", CHARTS)
def test_each_chart_is_a_titled_svg_image(name: str) -> None:
    svg = render(name, DATA[name], "svg")

    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text
    assert float(root.get("viewBox", "0 0 0 0").split()[2]) > 0
    assert b"<dc:date>" not in svg  # no timestamp: the same answer draws the same bytes


@pytest.mark.parametrize("name", CHARTS)
def test_each_chart_is_a_png_of_a_sensible_size(name: str) -> None:
    png = render(name, DATA[name], "png")

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk comes first
    assert 400 <= width <= 2000 and 300 <= height <= 1500
    assert len(png) > 10_000


@pytest.mark.parametrize("name", CHARTS)
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_the_same_answer_draws_the_same_bytes(name: str, fmt: str) -> None:
    assert render(name, DATA[name], fmt) == render(name, DATA[name], fmt)


def test_suppressed_funnel_steps_are_labelled_not_drawn_as_zero() -> None:
    text = svg_text(render("funnel", DATA["funnel"], "svg"))

    assert text.count("suppressed (fewer than 10)") >= 3  # two steps and the legend
    assert "conversion suppressed" in text
    assert "480" in text and "25 · 42% of Police referral" in text


def test_a_suppressed_stage_is_marked_and_the_others_show_their_rate() -> None:
    text = svg_text(render("dropoff-rates", DATA["dropoff-rates"], "svg"))

    assert "suppressed (fewer than 10)" in text
    assert "8.3% (40 journeys)" in text  # 40 of the period's 480
    assert "13.3% (64 journeys)" in text


def test_suppressed_bars_are_hatched_and_grey() -> None:
    with_hidden = render("dropoff-rates", DATA["dropoff-rates"], "svg")
    shown = copy.deepcopy(DATA["dropoff-rates"])
    shown["rows"][2] = row("criminal_justice", "Criminal justice", 12)
    without = render("dropoff-rates", shown, "svg")

    # The legend's marker always fills with the hatch pattern; a hidden bar adds one more.
    assert with_hidden.count(b'fill="url(#h') == without.count(b'fill="url(#h') + 1
    assert "suppressed (fewer than 10)" not in svg_text(without).replace(
        "suppressed (fewer than 10): value hidden", ""
    )


def test_the_journeys_in_period_suppressed_hides_every_rate() -> None:
    data = copy.deepcopy(DATA["dropoff-rates"])
    data["journeys_in_period"] = None

    text = svg_text(render("dropoff-rates", data, "svg"))

    assert "journeys)" not in text  # no bar claims a rate
    assert text.count("suppressed (fewer than 10)") >= 5  # the population, three bars, the legend


def test_time_to_event_marks_the_median_and_names_what_is_hidden() -> None:
    text = svg_text(render("time-to-event", DATA["time-to-event"], "svg"))

    assert "median 30 days" in text and "30 d" in text
    assert "median not reached" in text
    assert "n suppressed (fewer than 10)" in text and "median suppressed" in text


def test_pydantic_answers_are_drawn_like_their_json() -> None:
    class Answer:
        def model_dump(self, *, mode: str, by_alias: bool) -> dict[str, Any]:
            assert mode == "json" and by_alias
            return funnel()

    answer: Any = Answer()  # render's signature names the JSON; the service may pass models
    assert render("funnel", answer, "svg") == render("funnel", funnel(), "svg")


def test_an_empty_answer_still_draws() -> None:
    empty = {**dropoffs(), "rows": [], "journeys_in_period": 0}

    assert "No drop-offs in this period" in svg_text(render("dropoff-rates", empty, "svg"))
    assert render("time-to-event", [], "png").startswith(b"\x89PNG")


def test_an_unknown_chart_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"unknown chart 'sankey'.*funnel"):
        render("sankey", DATA["funnel"], "svg")


def test_an_unknown_format_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"unknown chart format 'jpeg'.*svg, png"):
        render("funnel", DATA["funnel"], "jpeg")


def test_the_suppressed_label_names_the_threshold() -> None:
    assert suppressed_label(10) == "suppressed (fewer than 10)"
    assert suppressed_label(None) == "suppressed"


def test_a_median_behind_suppressed_events_is_suppressed_not_unreached() -> None:
    sparse = {**measure("reasonable_grounds_to_conclusive_grounds", None, 60), "events": None}

    text = svg_text(render("time-to-event", [sparse], "svg"))

    assert "n=60; median suppressed" in text and "not reached" not in text


@pytest.mark.parametrize("name", list(DATA))
def test_a_chart_has_no_inline_style_so_a_strict_content_security_policy_draws_it(
    name: str,
) -> None:
    svg = render(name, DATA[name], "svg")
    root = ET.fromstring(svg)  # still well-formed: no attribute written twice
    elements = [root, *root.iter()]
    assert not [e for e in elements if "style" in e.attrib or e.tag == f"{SVG}style"]
    # What the styles said is still said, as presentation attributes.
    assert (root.get("stroke-linejoin"), root.get("stroke-linecap")) == ("round", "butt")
    assert any(e.get("fill") for e in elements) and any(e.get("font-size") for e in elements)
