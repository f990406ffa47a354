-- Idempotent consumers: an event id recorded here, in the same transaction as its effect,
-- is never applied again by the same consumer, however often Kafka redelivers it.
CREATE TABLE processed_events (
    consumer      text        NOT NULL,
    event_id      uuid        NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
