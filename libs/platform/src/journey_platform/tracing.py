"""W3C trace context across Kafka and the outbox.

The trace's `traceparent` is stored with each outbox row and sent as a Kafka header, so
one trace runs from a partner's API request, through the outbox relay and Kafka, into
whichever processor reacts.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()


def current_traceparent() -> str | None:
    """The `traceparent` of the active span, or None outside any trace."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def context_from(traceparent: str | None) -> Context:
    """A context whose parent is the span named by `traceparent` (empty if there is none)."""
    return _propagator.extract({"traceparent": traceparent} if traceparent else {})


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)
