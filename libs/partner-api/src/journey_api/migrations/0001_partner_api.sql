-- Idempotency-Key: one row per (client, key). `response_status` is NULL while the first
-- request is in flight, so a concurrent duplicate can be told apart (409) from a replay.
CREATE TABLE idempotency_keys (
    client_id        text        NOT NULL,
    idempotency_key  text        NOT NULL,
    request_hash     text        NOT NULL,
    response_status  integer,
    response_body    jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, idempotency_key)
);

-- Every read and write of personal data, append-only: the trigger refuses changes, so
-- even the service's own code cannot rewrite history.
CREATE TABLE audit_log (
    audit_id     bigserial   PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    request_id   text        NOT NULL,
    client_id    text        NOT NULL,
    agency_id    text        NOT NULL,
    action       text        NOT NULL,   -- e.g. read:referral, write:reasonable_grounds_decision
    journey_id   text,                   -- pseudonymous
    resource_id  text,
    outcome      text        NOT NULL    -- ok, not_found, denied
);
CREATE INDEX audit_log_journey ON audit_log (journey_id, at);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

-- The agencies that take part in a journey in this service: only they may read it.
CREATE TABLE journey_participants (
    journey_id  text        NOT NULL,
    agency_id   text        NOT NULL,
    since       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (journey_id, agency_id)
);

-- What partners recorded: one row per fact, coded attributes only. `resource_id` is the
-- thing it belongs to (a referral, a support case, a criminal case); `position` orders
-- cursors and timelines deterministically.
CREATE TABLE journey_records (
    position     bigserial   PRIMARY KEY,
    record_id    uuid        NOT NULL UNIQUE,
    journey_id   text        NOT NULL,
    resource_id  uuid        NOT NULL,
    kind         text        NOT NULL,
    attributes   jsonb       NOT NULL,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    agency_id    text        NOT NULL,
    event_id     uuid        NOT NULL
);
CREATE INDEX journey_records_journey ON journey_records (journey_id, occurred_at, position);
CREATE INDEX journey_records_resource ON journey_records (resource_id, position);
CREATE INDEX journey_records_kind ON journey_records (kind, position);

-- Journeys this service knows: created here, or learned from another service's events.
CREATE TABLE journeys (
    journey_id   text        PRIMARY KEY,
    known_since  timestamptz NOT NULL DEFAULT now(),
    facts        jsonb       NOT NULL DEFAULT '{}'::jsonb   -- e.g. {"support_eligible": true}
);
