"""Charts of the analytics API's answers: the NRM funnel, drop-off rates and time to event.

    render("funnel", funnel_json, "svg") -> bytes

Each chart takes the JSON the API serves for the same query, so a chart never shows a
number the API would not: a cell hidden by statistical disclosure control (`null`, a
count under the threshold) is drawn as a hatched grey "suppressed (fewer than 10)" marker, never
as zero, which would be a different (and false) statement.

matplotlib's object API on the Agg canvas, no pyplot: no global figure state, so the
service can render from any thread. Output is deterministic where matplotlib allows
(SVG ids salted with a constant, no date metadata) so the same data gives the same bytes.
Colours are the Okabe-Ito palette, distinguishable with the common colour-vision
deficiencies; lines differ in dash pattern too, so colour is never the only cue.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.typing import RcKeyType

from analytics.api.svg import accessible_svg

JSON = Mapping[str, Any]
FORMATS = ("svg", "png")

# Okabe & Ito, "Color Universal Design" (2008): https://jfly.uni-koeln.de/color/
BLUE, ORANGE, GREEN, VERMILION, SKY, PURPLE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#56B4E9",
    "#CC79A7",
)
SUPPRESSED_FACE, SUPPRESSED_EDGE, TEXT_GREY = "#f0f0f0", "#707070", "#444444"

# Text stays text in the SVG (screen readers, search, the tests); a constant salt makes
# matplotlib's generated ids repeatable instead of random.
_STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "victim-journey-analytics",
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
# rc_context changes matplotlib's process-wide settings while a chart is drawn; one
# chart at a time keeps a concurrent render from seeing half of another's style.
_RENDER_LOCK = threading.Lock()


def render(name: str, data: JSON | Sequence[JSON], fmt: str) -> bytes:
    """The chart `name` of the API's JSON `data`, as SVG or PNG bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown chart format {fmt!r}: expected one of {', '.join(FORMATS)}")
    draw = CHARTS.get(name)
    if draw is None:
        raise ValueError(f"unknown chart {name!r}: expected one of {', '.join(CHARTS)}")
    with _RENDER_LOCK, mpl.rc_context(_STYLE):
        figure = Figure(figsize=(8, 4.8), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        title = draw(figure, _plain(data))
        out = io.BytesIO()
        # No Date in SVG metadata; PNG's default metadata holds only the Software line.
        metadata = {"Date": None, "Title": title} if fmt == "svg" else {"Title": title}
        figure.savefig(out, format=fmt, metadata=metadata)
    body = out.getvalue()
    return accessible_svg(body) if fmt == "svg" else body


def suppressed_label(threshold: Any) -> str:
    """What a hidden cell says on a chart, e.g. "suppressed (fewer than 10)": never "<10",
    which reads as a value under ten (the tables' labels say the rest of why)."""
    return f"suppressed (fewer than {threshold})" if isinstance(threshold, int) else "suppressed"


def _plain(data: Any) -> Any:
    # The API may hand over its pydantic response models rather than dicts.
    if hasattr(data, "model_dump"):
        return data.model_dump(mode="json", by_alias=True)
    if isinstance(data, list | tuple):
        return [_plain(item) for item in data]
    return data


def _period(data: JSON) -> str:
    period = data.get("period") or {}
    start, end = period.get("from"), period.get("to")
    if not start and not end:
        return "all journeys"
    return f"{start or 'start'} to {end or 'now'}"


def _subtitle(axes: Axes, text: str) -> None:
    axes.text(0, 1.01, text, transform=axes.transAxes, fontsize=8.5, color=TEXT_GREY, va="bottom")


def _count(value: Any) -> str:
    return f"{value:,}"


def _suppressed_bar(axes: Axes, y: float, width: float, height: float = 0.6) -> None:
    axes.barh(
        y,
        width,
        height=height,
        color=SUPPRESSED_FACE,
        edgecolor=SUPPRESSED_EDGE,
        hatch="///",
        linewidth=0.8,
    )


def _suppressed_legend(figure: Figure, threshold: Any, *others: Patch) -> None:
    marker = Patch(
        facecolor=SUPPRESSED_FACE,
        edgecolor=SUPPRESSED_EDGE,
        hatch="///",
        label=f"{suppressed_label(threshold)}: value hidden, not zero",
    )
    _legend(figure, [*others, marker], columns=2)


def _legend(figure: Figure, handles: list[Any], *, columns: int) -> None:
    # Below the axes, where it can never cover a bar, a label or a curve.
    figure.legend(
        handles=handles, loc="outside lower center", ncols=columns, fontsize=8, frameon=False
    )


def funnel(figure: Figure, data: JSON) -> str:
    """Horizontal bars, one per NRM step in order, each labelled with its conversion."""
    steps: list[JSON] = list(data.get("steps") or [])
    threshold = data.get("threshold")
    title = "Journeys through the NRM: how many reach each step"
    axes = figure.add_subplot()
    axes.set_title(title, loc="left", fontsize=12, pad=16)
    _subtitle(axes, f"{_period(data)}; conversion is the share of the step it follows from")
    labels = {s.get("step"): str(s.get("label") or s.get("step")) for s in steps}
    counts = [s["count"] for s in steps if isinstance(s.get("count"), int)]
    widest = max(counts, default=0) or 1
    marker_width = widest * 0.04  # a suppressed step is a small fixed marker, never a length
    for y, step in enumerate(steps):
        count, conversion = step.get("count"), step.get("conversion")
        if count is None:
            _suppressed_bar(axes, y, marker_width)
            label, end = suppressed_label(threshold), marker_width
        else:
            axes.barh(y, count, height=0.6, color=BLUE)
            label, end = _count(count), count
        source = step.get("conversion_from", steps[y - 1].get("step") if y > 0 else None)
        if source is not None:
            label += (
                " · conversion suppressed"
                if conversion is None
                else f" · {conversion:.0%} of {labels.get(source, source)}"
            )
        axes.text(end + widest * 0.01, y, label, va="center", fontsize=8.5)
    axes.set_yticks(range(len(steps)), [str(s.get("label") or s.get("step")) for s in steps])
    axes.invert_yaxis()  # the journey reads top to bottom
    axes.set_xlim(0, widest * 1.45)
    axes.set_xlabel("Journeys (count)")
    axes.set_ylabel("NRM step")
    if not steps:
        _empty(axes, "No funnel steps in this period")
    _suppressed_legend(figure, threshold, Patch(color=BLUE, label="journeys at the step"))
    return title


def dropoff_rates(figure: Figure, data: JSON) -> str:
    """Per stage, the share of the period's journeys with a drop-off flag raised there."""
    rows: list[JSON] = list(data.get("rows") or [])
    threshold = data.get("threshold")
    in_period = data.get("journeys_in_period")
    title = "Where journeys break down: drop-off rate by stage"
    axes = figure.add_subplot()
    axes.set_title(title, loc="left", fontsize=12, pad=16)
    population = (
        f"of {_count(in_period)} journeys"
        if isinstance(in_period, int)
        else f"journeys in period {suppressed_label(threshold)}"
    )
    _subtitle(axes, f"{_period(data)}; share {population} with a drop-off flag at the stage")
    rates = [_rate(row.get("journeys"), in_period) for row in rows]
    widest = max((r for r in rates if r is not None), default=0.0) or 0.1
    marker_width = widest * 0.04
    for y, (row, rate) in enumerate(zip(rows, rates, strict=True)):
        if rate is None:
            _suppressed_bar(axes, y, marker_width)
            label, end = suppressed_label(threshold), marker_width
        else:
            axes.barh(y, rate, height=0.6, color=VERMILION)
            label, end = f"{rate:.1%} ({_count(row['journeys'])} journeys)", rate
        axes.text(end + widest * 0.01, y, label, va="center", fontsize=8.5)
    axes.set_yticks(range(len(rows)), [str(r.get("label") or r.get("group")) for r in rows])
    axes.invert_yaxis()
    axes.set_xlim(0, widest * 1.45)
    axes.xaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    axes.set_xlabel("Journeys with a drop-off at the stage (% of journeys in period)")
    axes.set_ylabel("Stage")
    if not rows:
        _empty(axes, "No drop-offs in this period")
    _suppressed_legend(figure, threshold, Patch(color=VERMILION, label="drop-off rate"))
    return title


def _rate(journeys: Any, in_period: Any) -> float | None:
    if not isinstance(journeys, int) or not isinstance(in_period, int) or in_period == 0:
        return None
    return journeys / in_period


# Colour and dash pattern together, so each measure is told apart without colour.
_CURVE_STYLES = [(BLUE, "-"), (ORANGE, "--"), (GREEN, "-.")]


def time_to_event(figure: Figure, data: Sequence[JSON]) -> str:
    """Kaplan-Meier curves: the share still waiting after so many days, median marked."""
    measures = [data] if isinstance(data, Mapping) else list(data)
    title = "Time to event: share of journeys still waiting"
    axes = figure.add_subplot()
    axes.set_title(title, loc="left", fontsize=12, pad=16)
    _subtitle(
        axes,
        f"{_period(measures[0]) if measures else 'all journeys'}; Kaplan-Meier estimate, "
        "censored journeys counted until they leave; median marked where reached",
    )
    axes.axhline(0.5, color="#bbbbbb", linewidth=0.8, linestyle=":")
    for index, measure in enumerate(measures):
        colour, dashes = _CURVE_STYLES[index % len(_CURVE_STYLES)]
        curve: list[JSON] = list(measure.get("curve") or [])
        label = _measure_label(measure)
        if curve:
            days = [float(point["days"]) for point in curve]
            survival = [float(point["survival"]) for point in curve]
            axes.step(days, survival, where="post", color=colour, linestyle=dashes, label=label)
        else:
            axes.plot([], [], color=colour, linestyle=dashes, label=f"{label}: no curve")
        median = measure.get("median_days")
        if isinstance(median, int | float):
            axes.plot([median, median], [0, 0.5], color=colour, linestyle=":", linewidth=1)
            axes.plot([median], [0.5], marker="o", color=colour, markersize=5)
            axes.annotate(
                f"{median:g} d",
                (median, 0.5),
                xytext=(4, 4 + 10 * index),  # stacked, so two medians close together stay legible
                textcoords="offset points",
                fontsize=8,
                color=colour,
            )
    axes.set_ylim(0, 1.05)
    axes.set_xlim(left=0)
    axes.yaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    axes.set_xlabel("Days since the start of the wait")
    axes.set_ylabel("Still waiting (survival)")
    handles, _ = axes.get_legend_handles_labels()
    _legend(figure, handles, columns=1)
    if not measures:
        _empty(axes, "No time-to-event measures")
    return title


def _measure_label(measure: JSON) -> str:
    """ "Referral to ... (n=240; median 21.5 days)", saying what is hidden and why."""
    threshold, at_risk, median = (
        measure.get("threshold"),
        measure.get("at_risk"),
        measure.get("median_days"),
    )
    people = (
        f"n={_count(at_risk)}" if isinstance(at_risk, int) else f"n {suppressed_label(threshold)}"
    )
    if isinstance(median, int | float):
        summary = f"median {median:g} days"
    elif at_risk is None or measure.get("events") is None:
        summary = "median suppressed"
    else:  # published counts, and fewer than half have reached the event yet
        summary = "median not reached"
    return f"{measure.get('label') or measure.get('measure')} ({people}; {summary})"


def _empty(axes: Axes, message: str) -> None:
    axes.text(0.5, 0.5, message, transform=axes.transAxes, ha="center", color=TEXT_GREY)


CHARTS: dict[str, Callable[[Figure, Any], str]] = {
    "funnel": funnel,
    "dropoff-rates": dropoff_rates,
    "time-to-event": time_to_event,
}
