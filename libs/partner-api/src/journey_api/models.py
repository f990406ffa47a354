"""Request and response shapes every partner API shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

# Partners record things days or months after they happened, but never in the future:
# allow a little clock skew between an agency's systems and ours.
CLOCK_SKEW = timedelta(minutes=5)
# Nor before the NRM began (1 April 2009): every record here is a step of an NRM journey,
# so an earlier date is a typing error (a date of birth in the wrong field, say), and
# refusing it keeps such a date off Kafka.
NRM_BEGAN = datetime(2009, 4, 1, tzinfo=UTC)
JOURNEY_ID_PATTERN = r"^jny_[a-z2-7]{26}$"


def _within_utc_range(moment: datetime) -> datetime:
    # 0001-01-01T00:00+14:00 parses, but is before the first instant UTC can hold; the
    # database stores UTC, so refuse it here rather than fail on the way in.
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None
    return moment


def _within_the_nrm(moment: datetime) -> datetime:
    if moment > datetime.now(UTC) + CLOCK_SKEW:
        raise ValueError("occurred_at is in the future")
    if moment < NRM_BEGAN:
        raise ValueError(f"occurred_at is before the NRM began ({NRM_BEGAN.date()})")
    return moment


# A moment sent to the API: ISO 8601 with a time zone, representable in UTC.
Moment = Annotated[AwareDatetime, AfterValidator(_within_utc_range)]
OccurredAt = Annotated[
    Moment,
    AfterValidator(_within_the_nrm),
    Field(
        description="When it happened in the world (ISO 8601 with a time zone); may be in "
        "the past, never in the future nor before the NRM began (2009-04-01).",
        examples=["2025-03-04T10:15:00Z"],
    ),
]
JourneyId = Annotated[
    str,
    Field(
        pattern=JOURNEY_ID_PATTERN,
        description="Pseudonymous journey id.",
        examples=["jny_abcdefghijklmnopqrstuvwxyz"],
    ),
]


class Command(BaseModel):
    """Base for every request body: unknown fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RecordOut(BaseModel):
    record_id: str
    journey_id: str
    resource_id: str
    kind: str
    attributes: dict[str, Any]
    occurred_at: datetime
    recorded_at: datetime
    recorded_by: str


class Page(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class Timeline(BaseModel):
    journey_id: str
    records: list[RecordOut]
