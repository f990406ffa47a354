"""The events a journey's state holds for rule instances that may start later, and their
stored form: times relative to the state's base, ids as positions in its seen set, event
types without their common prefix."""

from __future__ import annotations

from typing import Any

from journey_processor.core import codec

EVENT_TYPE_PREFIX = "uk.nrm."  # left out of stored event types

# A held event: (time, recorded, id, the fields rules read), times in epoch seconds.
Held = tuple[float, float, str, dict[str, Any]]


def short_type(event_type: str) -> str:
    if event_type.startswith(EVENT_TYPE_PREFIX):
        return event_type.removeprefix(EVENT_TYPE_PREFIX)
    return "=" + event_type  # stored whole


def long_type(stored: str) -> str:
    return stored[1:] if stored.startswith("=") else EVENT_TYPE_PREFIX + stored


def held_out(held: list[Held], out: codec.Writer) -> list[Any]:
    """One type's held events: [id, time, recorded, id, time, recorded, ...], then their
    kept fields if any has some."""
    flat: list[Any] = []
    positions, base = out.positions, out.base
    for time, recorded, event_id, _ in held:
        # Inlined for whole seconds, the common case (every journey's state is encoded
        # again each time it changes): what out.time and out.recorded would write.
        if time.is_integer() and recorded.is_integer():
            whole = int(time)
            flat += (positions[event_id], whole - base, int(recorded) - whole)
        else:
            flat += (positions[event_id], out.time(time), out.recorded(time, recorded))
    if any(h[3] for h in held):
        return [flat, [h[3] for h in held]]
    return [flat]


def held_in(stored: list[Any], read: codec.Reader) -> list[Held]:
    flat = stored[0]
    fields = stored[1] if len(stored) > 1 else [{}] * (len(flat) // 3)
    held = []
    for i, kept in zip(range(0, len(flat), 3), fields, strict=True):
        time = read.time(flat[i + 1])
        held.append((time, read.recorded(time, flat[i + 2]), read.id(flat[i]), kept))
    return held
