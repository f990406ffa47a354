"""Schema evolution rules: within a major version, changes are additive only.

A change is compatible when (a) every event valid under the old schema is still valid
under the new one, so nothing already on a topic becomes unreadable, and (b) every
field a consumer could rely on is still there, with the same type and meaning. Adding
an optional property or an enum value is fine (consumers read tolerantly); removing or
renaming a property, making a property required, changing a type, or tightening a
bound, pattern or format is not: that needs a new `vN` file.

`check_history` compares each schema file with every version of it in git history.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

Schema = Mapping[str, Any]

_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_MUST_STAY = ("const", "$ref", "allOf", "anyOf", "oneOf", "if", "then", "else", "not")
_MAY_ONLY_LOOSEN = ("pattern", "format")


def _types(schema: Schema) -> set[str] | None:
    declared = schema.get("type")
    if declared is None:
        return None
    return {declared} if isinstance(declared, str) else set(declared)


def incompatibilities(old: Schema, new: Schema, path: str = "$") -> list[str]:
    """Every way `new` breaks readers or data of `old`; empty when the change is additive."""
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return [] if old == new else [f"{path}: boolean schema changed"]
    return [
        *_narrowed(old, new, path),
        *_requirements_changed(old, new, path),
        *_nested(old, new, path),
    ]


def _narrowed(old: Schema, new: Schema, path: str) -> list[str]:
    """What this schema itself now allows less of: type, enum, formats, bounds."""
    problems: list[str] = []
    if _types(old) != _types(new) and _types(old) is not None:
        problems.append(f"{path}: type changed from {_types(old)} to {_types(new)}")
    if "enum" in old:
        dropped = [v for v in old["enum"] if v not in new.get("enum", old["enum"])]
        if dropped:
            problems.append(f"{path}: enum values removed {dropped}")
    elif "enum" in new:
        problems.append(f"{path}: enum added, narrowing the allowed values")
    for keyword in _MUST_STAY:
        if old.get(keyword) != new.get(keyword):
            problems.append(f"{path}: {keyword} changed")
    for keyword in _MAY_ONLY_LOOSEN:
        if keyword in new and old.get(keyword) != new[keyword]:
            problems.append(f"{path}: {keyword} added or changed")
    for keyword in _LOWER_BOUNDS:
        if keyword in new and (keyword not in old or new[keyword] > old[keyword]):
            problems.append(f"{path}: {keyword} raised")
    for keyword in _UPPER_BOUNDS:
        if keyword in new and (keyword not in old or new[keyword] < old[keyword]):
            problems.append(f"{path}: {keyword} lowered")
    if new.get("uniqueItems") and not old.get("uniqueItems"):
        problems.append(f"{path}: uniqueItems added")
    return problems


def _requirements_changed(old: Schema, new: Schema, path: str) -> list[str]:
    problems: list[str] = []
    old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
    if added := sorted(new_required - old_required):
        problems.append(f"{path}: newly required {added} (events already written lack them)")
    if dropped_required := sorted(old_required - new_required):
        problems.append(f"{path}: no longer required {dropped_required} (consumers rely on them)")
    return problems


def _nested(old: Schema, new: Schema, path: str) -> list[str]:
    """The same check down properties, additional properties, items and definitions."""
    problems: list[str] = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, old_prop in old_props.items():
        if name not in new_props:
            problems.append(f"{path}.{name}: property removed")
        else:
            problems.extend(incompatibilities(old_prop, new_props[name], f"{path}.{name}"))

    old_extra, new_extra = (
        old.get("additionalProperties", True),
        new.get("additionalProperties", True),
    )
    if new_extra is False and old_extra is not False:
        problems.append(f"{path}: additionalProperties closed")
    elif isinstance(old_extra, Mapping) and isinstance(new_extra, Mapping):
        problems.extend(incompatibilities(old_extra, new_extra, f"{path}.*"))

    if "items" in old:
        problems.extend(incompatibilities(old["items"], new.get("items", {}), f"{path}[]"))
    elif "items" in new:
        problems.append(f"{path}[]: items constraint added")

    old_defs, new_defs = old.get("$defs", {}), new.get("$defs", {})
    for name, old_def in old_defs.items():
        if name not in new_defs:
            problems.append(f"{path}.$defs.{name}: definition removed")
        else:
            problems.extend(incompatibilities(old_def, new_defs[name], f"{path}.$defs.{name}"))
    return problems


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(  # noqa: S603 - fixed git argv
        ["git", "-C", str(repo), *args],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def check_history(schemas_dir: Path) -> list[str]:
    """Compare every schema file in `schemas_dir` with each committed version of it."""
    repo = Path(_git(schemas_dir, "rev-parse", "--show-toplevel").strip())
    prefix = schemas_dir.resolve().relative_to(repo).as_posix()
    problems: list[str] = []
    ever = set(_git(repo, "log", "--format=", "--name-only", "--", f"{prefix}/").split())
    for relative in sorted(p for p in ever if p.endswith(".schema.json")):
        current_path = repo / relative
        if not current_path.exists():
            problems.append(f"{relative}: published schema removed (publish a new major instead)")
            continue
        current = json.loads(current_path.read_text())
        for commit in _git(repo, "log", "--format=%H", "--", relative).split():
            try:
                old = json.loads(_git(repo, "show", f"{commit}:{relative}"))
            except (subprocess.CalledProcessError, json.JSONDecodeError):
                continue  # the path did not exist (or did not parse) at that commit
            problems.extend(
                f"{relative} (since {commit[:10]}): {p}" for p in incompatibilities(old, current)
            )
    return sorted(set(problems))
