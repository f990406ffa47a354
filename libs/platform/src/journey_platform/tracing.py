"""W3C trace context across Kafka and the outbox.

The trace's `traceparent` is stored with each outbox row and sent as a Kafka header, so
one trace runs from a partner's API request, through the outbox relay and Kafka, into
whichever processor reacts.
"""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link
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


# A batch span links to at most this many of its records' traces: enough to follow a few
# requests into the batch, bounded so a 500-record batch does not make a huge span.
MAX_LINKS = 64


def links_to(traceparents: Iterable[str | None]) -> list[Link]:
    """Links from a batch span to the traces of (up to MAX_LINKS of) its records."""
    links = []
    for traceparent in traceparents:
        if not traceparent:
            continue
        context = trace.get_current_span(context_from(traceparent)).get_span_context()
        if context.is_valid:
            links.append(Link(context))
            if len(links) == MAX_LINKS:
                break
    return links


def messaging(
    topic: str,
    operation: str,
    *,
    group: str | None = None,
    message_id: str | None = None,
    partition: int | None = None,
    count: int | None = None,
) -> dict[str, str | int]:
    """The OpenTelemetry messaging semantic-convention attributes of a Kafka span.

    `operation` is the operation type: "send" (produce), "receive" or "process". The
    message id is the event's CloudEvents id (ce_id), which Jaeger can search by.
    """
    attributes: dict[str, str | int] = {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "messaging.operation.type": operation,
        "messaging.operation.name": operation,
    }
    if group is not None:
        attributes["messaging.consumer.group.name"] = group
    if message_id is not None:
        attributes["messaging.message.id"] = message_id
    if partition is not None:
        attributes["messaging.destination.partition.id"] = str(partition)
    if count is not None:
        attributes["messaging.batch.message_count"] = count
    return attributes
