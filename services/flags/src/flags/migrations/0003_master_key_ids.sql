-- Which master key sealed each journey's key (journey_api.sealing.master_key_id), so that
-- during a rotation (`journey keys rotate`) the service opens each with the right one and
-- the command finds what is left to re-seal. NULL: sealed before key ids were recorded.
ALTER TABLE journey_keys ADD COLUMN master_key_id text;
