-- Identifying details live only here, encrypted with a key per journey (AES-256-GCM).
-- Erasure destroys the journey's key (crypto-shredding): the ciphertext stays, unreadable,
-- and the coded journey records (which count in statistics) are untouched.
CREATE TABLE journey_keys (
    journey_id   text        PRIMARY KEY,
    wrapped_key  bytea       NOT NULL,   -- the journey's data key, sealed by the master key
    nonce        bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE identities (
    referral_id  uuid        PRIMARY KEY,
    journey_id   text        NOT NULL,
    nonce        bytea       NOT NULL,
    ciphertext   bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX identities_journey ON identities (journey_id);

-- Re-referral: a keyed HMAC of the person's stable identifiers, never the identifiers.
CREATE TABLE person_matches (
    match_key   text        PRIMARY KEY,
    journey_id  text        NOT NULL
);
CREATE INDEX person_matches_journey ON person_matches (journey_id);

CREATE TABLE erasures (
    journey_id  text        PRIMARY KEY,
    erased_at   timestamptz NOT NULL DEFAULT now(),
    agency_id   text        NOT NULL
);
