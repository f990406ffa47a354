-- Sent rows are kept for a retention period (to look into a delivery), then purged by the
-- relay oldest first: this index finds them without reading the table.
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
