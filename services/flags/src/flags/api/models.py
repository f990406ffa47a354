"""Response and request shapes of the flags API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from flags.domain.actions import ACTION_VOCABULARY, NOTE_MAX_LENGTH
from journey_api.models import Command
from journey_platform.contracts import Contracts


class FlagOut(BaseModel):
    flag_id: str
    journey_id: str
    rule_id: str
    title: str = Field(description="The rule's title, from the drop-off catalogue.")
    rationale: str = Field(description="Why the rule matters, from the drop-off catalogue.")
    stage: str
    severity: str
    status: Literal["open", "resolved", "retracted"]
    due_at: datetime
    raised_at: datetime
    resolved_at: datetime | None
    resolution: str | None


class FlagPage(BaseModel):
    items: list[FlagOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class HistoryEntry(BaseModel):
    kind: Literal["raised", "resolved", "retracted"]
    sequence: int
    at: datetime
    resolution: str | None


class AcknowledgementOut(BaseModel):
    acknowledgement_id: str
    flag_id: str
    action: str
    agency_id: str
    acknowledged_at: datetime
    note: str | None = Field(
        default=None, description="Shown only to the agency that wrote it; null otherwise."
    )


class Link(BaseModel):
    service: str
    href: str


class FlagDetail(FlagOut):
    history: list[HistoryEntry]
    acknowledgements: list[AcknowledgementOut]
    links: dict[str, Link] = Field(
        description="`timeline`: the journey's timeline in the partner API that holds the "
        "records this rule watches."
    )


def acknowledgement_model(contracts: Contracts) -> type[BaseModel]:
    """The request body: a coded action from the shared vocabulary, and an optional note."""
    vocabulary = contracts.resolve(ACTION_VOCABULARY)
    fields: dict[str, Any] = {
        "action": (
            Literal[tuple(vocabulary["enum"])],
            Field(description=vocabulary["description"]),
        ),
        "note": (
            str | None,
            Field(
                default=None,
                min_length=1,
                max_length=NOTE_MAX_LENGTH,
                description="A short note for your own agency's records. Stored encrypted; "
                "never published or shown to another agency.",
            ),
        ),
    }
    model: type[BaseModel] = create_model(
        "FlagAcknowledgement", __base__=Command, __doc__="What you did about the flag.", **fields
    )
    model.model_config["json_schema_extra"] = {
        "examples": [{"action": "referred_to_police", "note": "Reported missing to police."}]
    }
    return model
