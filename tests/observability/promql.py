"""What the observability files ask of the metrics: the metric names a PromQL expression
reads, and the sample names journey_platform.metrics exports."""

from __future__ import annotations

import re

from prometheus_client.metrics import MetricWrapperBase

from journey_platform import metrics

# Series Prometheus makes itself, not any process.
PROMETHEUS_SERIES = frozenset({"up"})
KEYWORDS = frozenset({"and", "or", "unless", "by", "without", "on", "ignoring", "offset", "bool"})
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
}
_LABEL_MATCHERS = re.compile(r"\{[^}]*\}")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_RANGES = re.compile(r"\[[^\]]*\]")
_STRINGS = re.compile(r'"[^"]*"')
_NAME = re.compile(r"(?<![\w$.])([a-zA-Z_:][\w:]*)\b(?!\s*\()")


def exported_names() -> frozenset[str]:
    """Every sample name the metrics module exports (prometheus-client appends `_total` to
    counters; histograms export `_bucket`, `_sum` and `_count`)."""
    names: set[str] = set()
    for collector in vars(metrics).values():
        if isinstance(collector, MetricWrapperBase):
            for metric in collector.describe():
                names.update(metric.name + suffix for suffix in _SUFFIXES[metric.type])
    return frozenset(names)


def metric_names(expr: str) -> set[str]:
    """The metric names `expr` reads: what is left once label matchers, grouping clauses,
    ranges, strings, numbers and function calls are taken out."""
    bare = _STRINGS.sub("", expr)
    for pattern in (_LABEL_MATCHERS, _GROUPING, _RANGES):
        bare = pattern.sub(" ", bare)
    return {name for name in _NAME.findall(bare) if name not in KEYWORDS}
