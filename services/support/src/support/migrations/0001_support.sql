-- The support service keeps only the shared partner-API tables (journey records,
-- participants, journeys, audit, idempotency, outbox). Its own tables start at 0002.
SELECT 1;
