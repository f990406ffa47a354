"""Request and response shapes of the webhook API."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from flags.webhooks.endpoints import MAX_URL_LENGTH
from flags.webhooks.notice import EventType
from journey_api.models import Command


class Registration(Command):
    url: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_URL_LENGTH,
            description="An https URL whose host resolves to public addresses (plain http "
            "only to a loopback address, in development).",
            examples=["https://flags.haven-support.example/hooks"],
        ),
    ]
    event_types: Annotated[
        list[EventType],
        Field(min_length=1, max_length=2, description="The events to be told about."),
    ]


class Subscription(BaseModel):
    id: str
    url: str
    event_types: list[str]
    created_at: datetime
    status: Literal["active", "disabled"]
    disabled_at: datetime | None
    disabled_reason: str | None = Field(description="Why it was disabled, if it was.")
    consecutive_failures: int


class Registered(Subscription):
    secret: str | None = Field(
        description="The signing secret (Standard Webhooks, whsec_...). Shown once: a "
        "replay of the same request (same Idempotency-Key) answers without it."
    )


class Subscriptions(BaseModel):
    items: list[Subscription]


class Rotated(BaseModel):
    secret: str | None = Field(description="The new primary signing secret, shown once.")
    previous_secret_expires_at: datetime | None = Field(
        description="Until then deliveries are signed with the previous secret too."
    )


class Delivery(BaseModel):
    webhook_id: str = Field(description="The webhook-id header; the same on every retry.")
    event_type: str
    flag_id: str
    journey_id: str
    state: Literal["pending", "delivered", "failed"]
    attempts: int
    enqueued_at: datetime
    last_attempt_at: datetime | None
    last_status: int | None = Field(description="The receiver's last HTTP status, if any.")
    last_error: str | None = Field(
        description="What went wrong last: timeout, connect, transport, redirect, "
        "unsafe-address or http-<status>."
    )
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None = Field(description="When retrying stopped (24 hours on).")


class Deliveries(BaseModel):
    subscription: Subscription
    items: list[Delivery]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null at the end."
    )
