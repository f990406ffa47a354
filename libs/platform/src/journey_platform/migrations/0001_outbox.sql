-- Transactional outbox: a service writes its business rows and the events they cause in
-- one transaction; the relay publishes unsent rows in position order and marks them sent.
CREATE TABLE outbox (
    position     bigserial PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    event_type   text        NOT NULL,
    topic        text        NOT NULL,
    journey_id   text        NOT NULL,     -- the record key: pseudonymous, never identifying
    headers      jsonb       NOT NULL,     -- [[name, value], ...] as sent, ce_* attributes first
    payload      bytea       NOT NULL,     -- the JSON body exactly as validated
    traceparent  text,                     -- W3C trace context of the request that wrote it
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz
);

CREATE INDEX outbox_unsent ON outbox (position) WHERE sent_at IS NULL;
