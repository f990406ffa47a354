"""Request models derived from the event contracts, so an API field and its event field
can never drift apart: one JSON Schema serves both.

A record endpoint's body is its event's properties, less the ids the server assigns and
the fields it works out itself, plus `occurred_at`. Cross-field rules of a contract
(`if`/`then`) are checked when the event is staged, and answered as a 422 as well.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from journey_api.models import Command, OccurredAt
from journey_platform.contracts import Contracts


def _resolve(
    contracts: Contracts, schema: Mapping[str, Any], base: str
) -> tuple[Mapping[str, Any], str]:
    """Follow a `$ref` (relative ones against `base`); return the schema and its base."""
    if "$ref" not in schema:
        return schema, base
    reference = schema["$ref"]
    absolute = base + reference if reference.startswith("#") else reference
    target = contracts.resolve(absolute)
    merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return merged, absolute.split("#", 1)[0]


def _annotation(contracts: Contracts, schema: Mapping[str, Any], base: str) -> Any:
    schema, base = _resolve(contracts, schema, base)
    if "allOf" in schema:  # a shared vocabulary narrowed here, e.g. regions less some nations
        parts = [_resolve(contracts, part, base)[0] for part in schema["allOf"]]
        allowed = next(p["enum"] for p in parts if "enum" in p)
        excluded = {v for p in parts for v in p.get("not", {}).get("enum", ())}
        return Literal[tuple(v for v in allowed if v not in excluded)]
    if "enum" in schema:
        return Literal[tuple(schema["enum"])]
    kind = schema.get("type")
    if kind == "string":
        return {"uuid": uuid.UUID, "date": dt.date, "date-time": dt.datetime}.get(
            schema.get("format", ""), str
        )
    if kind == "integer":
        return int
    if kind == "boolean":
        return bool
    if kind == "array":
        return list[_annotation(contracts, schema.get("items", {}), base)]  # type: ignore[misc]
    raise TypeError(f"no request type for schema {schema}")


def _field(
    contracts: Contracts, schema: Mapping[str, Any], required: bool, base: str
) -> tuple[Any, Any]:
    resolved, _ = _resolve(contracts, schema, base)
    constraints = {
        key: resolved[source]
        for key, source in (("ge", "minimum"), ("le", "maximum"), ("min_length", "minItems"))
        if source in resolved
    }
    info = Field(... if required else None, description=resolved.get("description"), **constraints)
    annotation = _annotation(contracts, schema, base)
    return (annotation if required else annotation | None), info


def event_fields(
    contracts: Contracts, event_type: str, *, omit: Iterable[str] = ()
) -> dict[str, tuple[Any, Any]]:
    """The pydantic fields of the event's data (its latest major version), less `omit`."""
    document = contracts.schema(event_type, contracts.latest_major(event_type)).document
    omitted, required = set(omit), set(document.get("required", ()))
    return {
        prop: _field(contracts, schema, prop in required, document["$id"])
        for prop, schema in document.get("properties", {}).items()
        if prop not in omitted
    }


def command_model(
    contracts: Contracts,
    event_type: str,
    *,
    name: str,
    omit: Iterable[str] = (),
    add: Mapping[str, tuple[Any, Any]] | None = None,
) -> type[BaseModel]:
    """A request model with the event's fields (less `omit`), `occurred_at` and `add`
    (which replaces an event field of the same name)."""
    document = contracts.schema(event_type, contracts.latest_major(event_type)).document
    omitted = set(omit)
    fields: dict[str, Any] = {"occurred_at": (OccurredAt, ...)}
    fields.update(add or {})
    # A field in `add` wins: the API may declare an event field more strictly.
    fields.update(
        (name, definition)
        for name, definition in event_fields(contracts, event_type, omit=omitted).items()
        if name not in fields
    )
    examples = [
        {
            "occurred_at": "2025-03-04T10:15:00Z",
            **{k: v for k, v in example.items() if k not in omitted},
        }
        for example in document.get("examples", [])
    ]
    model: type[BaseModel] = create_model(
        name, __base__=Command, __doc__=document.get("description"), **fields
    )
    model.model_config["json_schema_extra"] = {"examples": examples}  # type: ignore[dict-item]
    return model
