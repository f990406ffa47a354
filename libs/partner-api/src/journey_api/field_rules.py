"""What a request field allows, in words, for the 422 that refuses it.

The rule is read from the service's own OpenAPI document (the request body's schema, or
the parameter's), so a validation problem says exactly what the document promises: the
allowed values of an enum, the format, the bounds. It never says what was sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Schema = Mapping[str, Any]

FORMATS = {
    "date-time": "an ISO 8601 date and time with a time zone, e.g. 2025-03-04T10:15:00Z",
    "date": "a date, YYYY-MM-DD",
    "uuid": "a UUID",
}
TYPES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
}


@dataclass(frozen=True)
class FieldRule:
    text: str  # e.g. "one of: given, not_required_child"
    allowed: list[Any] | None = None  # an enum's values


def field_rule(
    document: Schema, path: str, method: str, location: Sequence[str | int]
) -> FieldRule | None:
    """The rule of the field at `location` (as pydantic reports it: ("body", "person",
    "date_of_birth") or ("query", "limit")) of an operation, or None if not documented."""
    operation = document.get("paths", {}).get(path, {}).get(method.lower())
    if operation is None or not location:
        return None
    where, *rest = location
    if where == "body":
        content = operation.get("requestBody", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
    else:
        if not rest:
            return None
        name, *rest = rest
        schema = next(
            (
                p.get("schema")
                for p in operation.get("parameters", ())
                if p.get("in") == where and str(p.get("name", "")).lower() == str(name).lower()
            ),
            None,
        )
    for part in rest:
        if schema is None:
            return None
        schema = _step(document, _resolve(document, schema), part)
    return None if schema is None else describe(document, schema)


def _resolve(document: Schema, schema: Schema) -> Schema:
    """Follow local $refs, and see through `X | None` (anyOf with null) and lone allOfs."""
    while True:
        if "$ref" in schema:
            target: Any = document
            for key in schema["$ref"].removeprefix("#/").split("/"):
                target = target.get(key, {})
            schema = target
        elif "anyOf" in schema:
            branches = [s for s in schema["anyOf"] if s.get("type") != "null"]
            if len(branches) != 1:
                return schema
            schema = {**{k: v for k, v in schema.items() if k != "anyOf"}, **branches[0]}
        elif "allOf" in schema and len(schema["allOf"]) == 1:
            schema = {**{k: v for k, v in schema.items() if k != "allOf"}, **schema["allOf"][0]}
        else:
            return schema


def _step(document: Schema, schema: Schema, part: str | int) -> Schema | None:
    if isinstance(part, int):
        items: Schema | None = schema.get("items")
        return items
    found: Schema | None = schema.get("properties", {}).get(part)
    return found


def describe(document: Schema, schema: Schema) -> FieldRule:
    schema = _resolve(document, schema)
    if "enum" in schema or "const" in schema:
        allowed = list(schema.get("enum", [schema.get("const")]))
        return FieldRule("one of: " + ", ".join(str(v) for v in allowed), allowed)
    parts = [FORMATS.get(schema.get("format", ""), TYPES.get(schema.get("type", ""), "a value"))]
    if "pattern" in schema:
        parts.append(f"matching {schema['pattern']}")
    parts.extend(_bounds(schema))
    if schema.get("type") == "array" and "items" in schema:
        item = describe(document, schema["items"])
        parts.append(f"each item {item.text}")
        return FieldRule(", ".join(parts), item.allowed)
    if schema.get("type") == "object" and schema.get("required"):
        parts.append("with " + ", ".join(schema["required"]))
    return FieldRule(", ".join(parts))


def _number(value: Any) -> Any:
    # FastAPI's OpenAPI model holds every bound as a float: 200 would read "200.0".
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _bounds(schema: Schema) -> list[str]:
    schema = {k: _number(v) for k, v in schema.items()}
    bounds = []
    for low, high, unit in (
        ("minimum", "maximum", ""),
        ("minLength", "maxLength", " characters"),
        ("minItems", "maxItems", " items"),
    ):
        if low in schema and high in schema:
            bounds.append(f"from {schema[low]} to {schema[high]}{unit}")
        elif low in schema:
            bounds.append(f"at least {schema[low]}{unit}")
        elif high in schema:
            bounds.append(f"at most {schema[high]}{unit}")
    if "exclusiveMinimum" in schema:
        bounds.append(f"more than {schema['exclusiveMinimum']}")
    if "exclusiveMaximum" in schema:
        bounds.append(f"less than {schema['exclusiveMaximum']}")
    return bounds
