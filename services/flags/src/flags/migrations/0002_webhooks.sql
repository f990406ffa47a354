-- Webhooks (Standard Webhooks 1.0): each agency's subscriptions, their signing secrets
-- sealed at rest, and an outbox of deliveries that the dispatcher works through.

CREATE TABLE webhook_subscriptions (
    subscription_id  uuid        PRIMARY KEY,
    agency_id        text        NOT NULL,
    url              text        NOT NULL,
    event_types      text[]      NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- Consecutive failed attempts, and since when: a long streak disables the subscription.
    failure_streak   integer     NOT NULL DEFAULT 0,
    failing_since    timestamptz,
    disabled_at      timestamptz,
    disabled_reason  text
);

CREATE INDEX webhook_subscriptions_by_agency ON webhook_subscriptions (agency_id);

-- One primary secret (expires_at NULL) and, for a while after a rotation, the previous
-- one: deliveries are signed with both. Sealed with AES-256-GCM, the subscription id as
-- associated data.
CREATE TABLE webhook_secrets (
    subscription_id  uuid        NOT NULL
        REFERENCES webhook_subscriptions ON DELETE CASCADE,
    secret_id        uuid        PRIMARY KEY,
    sealed           bytea       NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz
);

CREATE INDEX webhook_secrets_of ON webhook_secrets (subscription_id);

-- A delivery's webhook id and body are fixed when it is enqueued, so every retry sends
-- the same message. `position` is the enqueue order, which per (subscription, journey)
-- is the delivery order. A claimed row's next_attempt_at is its lease: if the claiming
-- dispatcher dies, the row is due again when the lease ends.
CREATE TABLE webhook_deliveries (
    position          bigserial   PRIMARY KEY,
    webhook_id        text        NOT NULL UNIQUE,
    subscription_id   uuid        NOT NULL
        REFERENCES webhook_subscriptions ON DELETE CASCADE,
    journey_id        text        NOT NULL,
    flag_id           text        NOT NULL,
    event_type        text        NOT NULL,
    payload           text        NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    attempts          integer     NOT NULL DEFAULT 0,
    first_attempt_at  timestamptz,
    last_attempt_at   timestamptz,
    last_status       integer,
    last_error        text,      -- a class (timeout, connect, http-503), never a message
    delivered_at      timestamptz,
    failed_at         timestamptz
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX webhook_deliveries_per_journey
    ON webhook_deliveries (subscription_id, journey_id, position)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX webhook_deliveries_of ON webhook_deliveries (subscription_id, position);
