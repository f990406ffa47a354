"""Response models of journey records, typed per record kind from the event contracts.

A record's `attributes` are its event's data less the field naming the resource (the
path says it), plus the API-only fields kept off the event: so the ids the server mints
(`stay_id`, `episode_id`, `police_referral_id`) and the fields it works out appear, typed,
in the OpenAPI document, and generated clients get them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, create_model

from journey_api.commands import event_fields
from journey_api.domain.records import Action
from journey_api.models import RecordOut
from journey_platform.contracts import Contracts


@dataclass(frozen=True)
class RecordKind:
    """A kind of record a collection holds, and how its attributes differ from its event."""

    action: Action
    resource_field: str | None  # the event field naming the resource, not in attributes
    api_only: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)


def _title(kind: str) -> str:
    return "".join(part.title() for part in kind.split("_"))


class Attributes(BaseModel):
    # Records written under an earlier minor version of a contract may hold a field that
    # has since gone: pass it on rather than drop it.
    model_config = ConfigDict(extra="allow")


# One model per kind and contract set: a kind's model reused, never rebuilt under the
# same name (the OpenAPI document would then hold two schemas for one name).
_MODELS: dict[tuple[int, str], type[RecordOut]] = {}


def record_model(contracts: Contracts, kind: RecordKind) -> type[RecordOut]:
    """The response model of one kind of record."""
    key = (id(contracts), kind.action.kind)
    if key not in _MODELS:
        _MODELS[key] = _record_model(contracts, kind)
    return _MODELS[key]


def _record_model(contracts: Contracts, kind: RecordKind) -> type[RecordOut]:
    action, name = kind.action, _title(kind.action.kind)
    omit = [kind.resource_field] if kind.resource_field else []
    attributes = create_model(  # type: ignore[call-overload]
        f"{name}Attributes",
        __base__=Attributes,
        __doc__=f"The attributes of a `{action.kind}` record: `{action.event_type}`'s data.",
        **event_fields(contracts, action.event_type, omit=omit),
        **kind.api_only,
    )
    kind_type: Any = Literal[action.kind]  # a constant: the schema says which kind it is
    model: type[RecordOut] = create_model(
        f"{name}Record", __base__=RecordOut, kind=(kind_type, ...), attributes=(attributes, ...)
    )
    return model
