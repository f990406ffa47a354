-- Gender as the first responder recorded it (the referral, or the Duty to Notify report),
-- coded (male, female, other, unknown): the Home Office's quarterly tables break referrals
-- down by it, and the journey outcome does not carry it. The latest record wins, by when
-- it happened, then by event id, so a replay in any order gives the same row.
CREATE TABLE journey_gender (
    journey_id   text        PRIMARY KEY,
    gender       text        NOT NULL,
    event_id     uuid        NOT NULL,
    occurred_at  timestamptz NOT NULL
);
