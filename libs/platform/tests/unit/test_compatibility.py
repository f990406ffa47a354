from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from journey_platform.compatibility import incompatibilities

BASE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["outcome"],
    "properties": {
        "outcome": {"enum": ["positive", "negative"]},
        "days": {"type": "integer", "minimum": 0},
        "matter": {"type": "string", "pattern": "^[a-z]+$"},
        "areas": {"type": "array", "items": {"enum": ["legal", "medical"]}},
    },
    "$defs": {"band": {"enum": ["0-11", "12-15"]}},
}


def _changed(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    new = copy.deepcopy(BASE)
    edit(new)
    return new


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(
            lambda s: s["properties"].__setitem__("note_code", {"enum": ["a"]}),
            id="optional property",
        ),
        pytest.param(
            lambda s: s["properties"]["outcome"]["enum"].append("withdrawn"), id="enum value"
        ),
        pytest.param(lambda s: s["properties"]["days"].pop("minimum"), id="bound loosened"),
        pytest.param(lambda s: s.__setitem__("description", "clearer words"), id="documentation"),
        pytest.param(
            lambda s: s["$defs"].__setitem__("new", {"type": "string"}), id="new definition"
        ),
    ],
)
def test_additive_changes_are_compatible(edit: Callable[[dict[str, Any]], None]) -> None:
    assert incompatibilities(BASE, _changed(edit)) == []


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda s: s["properties"].pop("days"), "$.days: property removed"),
        (lambda s: s["required"].append("days"), "newly required ['days']"),
        (lambda s: s["required"].remove("outcome"), "no longer required ['outcome']"),
        (lambda s: s["properties"]["days"].__setitem__("type", "string"), "$.days: type changed"),
        (
            lambda s: s["properties"]["outcome"]["enum"].remove("negative"),
            "enum values removed ['negative']",
        ),
        (lambda s: s["properties"]["days"].__setitem__("minimum", 1), "$.days: minimum raised"),
        (lambda s: s["properties"]["days"].__setitem__("maximum", 9), "$.days: maximum lowered"),
        (
            lambda s: s["properties"]["matter"].__setitem__("pattern", "^[a-z]{2}$"),
            "pattern added or changed",
        ),
        (
            lambda s: s["properties"]["areas"]["items"]["enum"].remove("legal"),
            "$.areas[]: enum values removed",
        ),
        (lambda s: s["$defs"].pop("band"), "$.$defs.band: definition removed"),
        (lambda s: s["$defs"]["band"]["enum"].remove("0-11"), "$.$defs.band: enum values removed"),
    ],
)
def test_breaking_changes_are_named(edit: Callable[[dict[str, Any]], None], expected: str) -> None:
    problems = incompatibilities(BASE, _changed(edit))
    assert any(expected in p for p in problems), problems


def test_closing_additional_properties_breaks() -> None:
    old = {**copy.deepcopy(BASE), "additionalProperties": True}
    assert any("additionalProperties closed" in p for p in incompatibilities(old, BASE))
