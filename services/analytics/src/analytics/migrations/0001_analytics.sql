-- The analysts' copy of the journey streams: folded by the sink (analytics.sink), read by
-- the analytics API. Coded fields and pseudonymous journey ids only; every write is an
-- idempotent upsert, so replaying the topics from the beginning changes nothing.

-- One row per journey: its latest outcome (journey.outcomes), profile flattened,
-- milestones (the first time each happened) as columns.
CREATE TABLE journey_outcomes (
    journey_id                      text        PRIMARY KEY,
    event_id                        uuid        NOT NULL,
    as_of                           timestamptz NOT NULL,  -- the outcome event's time
    recorded_at                     timestamptz NOT NULL,
    source_partition                integer     NOT NULL,
    source_offset                   bigint      NOT NULL,
    stage                           text        NOT NULL,
    in_support                      boolean     NOT NULL,
    criminal_justice_stage          text        NOT NULL,
    reasonable_grounds_outcome      text,
    conclusive_grounds_outcome      text,
    first_responder_type            text,
    competent_authority             text,
    age_group                       text,
    age_band                        text,
    nationality_group               text,
    exploitation_types              text[]      NOT NULL DEFAULT '{}',
    region                          text,
    duty_to_notify_reported_at      timestamptz,
    referred_at                     timestamptz,
    reasonable_grounds_decided_at   timestamptz,
    reasonable_grounds_positive_at  timestamptz,
    conclusive_grounds_decided_at   timestamptz,
    conclusive_grounds_positive_at  timestamptz,
    reconsideration_requested_at    timestamptz,
    withdrawn_at                    timestamptz,
    support_entered_at              timestamptz,
    support_first_contact_at        timestamptz,
    support_ended_at                timestamptz,
    police_referral_at              timestamptz,
    crime_recorded_at               timestamptz,
    investigation_opened_at         timestamptz,
    charged_at                      timestamptz,
    trial_concluded_at              timestamptz,
    convicted_at                    timestamptz,
    durations_days                  jsonb       NOT NULL DEFAULT '{}',
    open_flags                      text[]      NOT NULL DEFAULT '{}',
    flags_raised                    integer     NOT NULL DEFAULT 0,
    final_outcome                   text,
    final_at                        timestamptz
);
CREATE INDEX journey_outcomes_referred ON journey_outcomes (referred_at);

-- One row per drop-off flag (journey.dropoffs folded by flag_id). Retracted flags stay,
-- marked, and every analysis leaves them out.
CREATE TABLE dropoff_flags (
    flag_id           uuid        PRIMARY KEY,
    journey_id        text        NOT NULL,
    rule_id           text        NOT NULL,
    stage             text        NOT NULL,
    severity          text        NOT NULL,
    started_by        text        NOT NULL,
    due_at            timestamptz NOT NULL,  -- when it became a drop-off
    raised_at         timestamptz NOT NULL,  -- when the processor first recorded it
    status            text        NOT NULL CHECK (status IN ('open', 'resolved', 'retracted')),
    resolution        text,
    resolved_at      timestamptz,
    resolved_by       text,
    -- The processor counts each flag's events (raised, resolved, retracted, raised again
    -- when a deadline moved): the highest sequence is the flag's state.
    sequence          integer     NOT NULL DEFAULT 0,
    last_event_id     uuid        NOT NULL,
    last_recorded_at  timestamptz NOT NULL,
    last_time         timestamptz NOT NULL
);
CREATE INDEX dropoff_flags_journey ON dropoff_flags (journey_id);

-- The event log of the three journey topics: what happened, to which journey, when.
-- No event data: activity is the event type.
CREATE TABLE journey_events (
    event_id     uuid        PRIMARY KEY,
    journey_id   text        NOT NULL,
    activity     text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL
);
CREATE INDEX journey_events_journey ON journey_events (journey_id, occurred_at);
