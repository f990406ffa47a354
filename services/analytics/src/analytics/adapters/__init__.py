"""The analytics service's I/O: PostgreSQL (the sink's upserts, the queries behind every
answer, the rebuild) and Kafka (the sink's consumer, the history a what-if replays)."""
