-- The flags service keeps the shared partner-API tables (participants, audit,
-- idempotency, outbox) plus the flags folded from journey.dropoffs.

-- Each flag's current state: the event with the highest sequence (domain/flags.py).
CREATE TABLE flags (
    flag_id      uuid        PRIMARY KEY,
    journey_id   text        NOT NULL,
    rule_id      text        NOT NULL,
    stage        text        NOT NULL,
    severity     text        NOT NULL,
    due_at       timestamptz NOT NULL,
    sequence     integer     NOT NULL,
    status       text        NOT NULL CHECK (status IN ('open', 'resolved', 'retracted')),
    raised_at    timestamptz NOT NULL,
    resolved_at  timestamptz,
    resolution   text,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- Lists: most overdue first, retracted flags never listed.
CREATE INDEX flags_listed ON flags (due_at, flag_id) WHERE status <> 'retracted';
CREATE INDEX flags_journey ON flags (journey_id);

-- Every dropoff event of a flag, late ones included: raised, resolved or retracted.
CREATE TABLE flag_history (
    event_id     uuid        PRIMARY KEY,
    flag_id      uuid        NOT NULL,
    sequence     integer     NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('raised', 'resolved', 'retracted')),
    at           timestamptz NOT NULL,   -- the event's time (due, or resolved)
    resolution   text,
    recorded_at  timestamptz NOT NULL
);
CREATE INDEX flag_history_flag ON flag_history (flag_id, sequence);

-- What an agency did about a flag. The optional note is free text an agency wrote about
-- a person: sealed under the journey's key (journey_api.sealing), never in clear.
CREATE TABLE acknowledgements (
    acknowledgement_id  uuid        PRIMARY KEY,
    flag_id             uuid        NOT NULL REFERENCES flags (flag_id),
    journey_id          text        NOT NULL,
    action              text        NOT NULL,
    agency_id           text        NOT NULL,
    client_id           text        NOT NULL,
    acknowledged_at     timestamptz NOT NULL,
    note_nonce          bytea,
    note_ciphertext     bytea
);
CREATE INDEX acknowledgements_flag ON acknowledgements (flag_id, acknowledged_at);

-- Each journey's data key, sealed by the notes master key (journey_api.sealing).
CREATE TABLE journey_keys (
    journey_id   text        PRIMARY KEY,
    wrapped_key  bytea       NOT NULL,
    nonce        bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
