"""Every Prometheus metric the system exports, declared once.

Each process serves them on its own metrics port (`telemetry.start_telemetry`); the
process is told apart by Prometheus's `job` label, so no metric carries a service label.
The alerting rules (`deploy/observability/alerts.yaml`), the dashboard and the runbook
(`docs/operations.md`) use these names.

Labels are bounded vocabularies only: routes as templates, topic and group names, rule
ids, reason codes. Never a journey id, an event id or anything said about a person.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# -- partner APIs and the analytics service ----------------------------------------------

HTTP_REQUEST_DURATION = Histogram(
    "journey_http_request_duration_seconds",
    "HTTP requests by route template, method and status code (rate, errors, duration).",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# -- every process with a database ------------------------------------------------------

DB_STATEMENT_DURATION = Histogram(
    "journey_db_statement_duration_seconds",
    "Database statements by operation (SELECT, INSERT, ..., WITH, BEGIN, COMMIT, OTHER), "
    "from sending to the last row received; failed ones included.",
    ["operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

# -- the transactional outbox -----------------------------------------------------------

OUTBOX_BACKLOG = Gauge(
    "journey_outbox_backlog_rows",
    "Outbox rows committed but not yet published to Kafka.",
)
OUTBOX_OLDEST_AGE = Gauge(
    "journey_outbox_oldest_unsent_age_seconds",
    "Age of the oldest unpublished outbox row; 0 when nothing waits.",
)

# -- every consumer -----------------------------------------------------------------------

CONSUMER_LAG = Gauge(
    "journey_consumer_lag_records",
    "Records on a partition the consumer group has not yet processed (high watermark "
    "minus the consumer's position), as last seen by the consumer.",
    ["group", "topic", "partition"],
)
DEAD_LETTERS = Counter(
    "journey_dead_letters",
    "Records sent to the dead-letter topic, by the topic they came from and why.",
    ["group", "topic", "reason"],
)

# -- the journey processor -------------------------------------------------------------------

PROCESSOR_TRANSACTION_DURATION = Histogram(
    "journey_processor_transaction_duration_seconds",
    "One transaction (a batch, or several behind a backlog): processed, produced, committed.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PROCESSOR_RECORDS = Counter(
    "journey_processor_records",
    "Records the processor committed (rate() is records per second).",
)
PROCESSOR_COMMITS = Counter(
    "journey_processor_commits",
    "Transactions the processor committed.",
)
PROCESSOR_LAST_COMMIT = Gauge(
    "journey_processor_last_commit_timestamp_seconds",
    "Unix time of the processor's last committed transaction.",
)
FLAGS_RAISED = Counter(
    "journey_flags_raised",
    "Drop-off flags raised, by rule (counted by the processor that published them).",
    ["rule"],
)
FLAGS_RESOLVED = Counter(
    "journey_flags_resolved",
    "Drop-off flags resolved by later evidence, by rule.",
    ["rule"],
)
FLAGS_RETRACTED = Counter(
    "journey_flags_retracted",
    "Drop-off flags withdrawn because their evidence was corrected, by rule.",
    ["rule"],
)

# -- the analytics sink -----------------------------------------------------------------------

FLAGS_OPEN = Gauge(
    "journey_flags_open",
    "Drop-off flags open now, by rule, as the analytics sink holds them.",
    ["rule"],
)
SINK_RECORDS = Counter(
    "journey_sink_records",
    "Records the analytics sink stored, by topic.",
    ["topic"],
)

# -- the flags service's webhook dispatcher ---------------------------------------------------

WEBHOOK_DELIVERIES = Counter(
    "journey_webhook_deliveries",
    "Webhook delivery attempts by outcome: delivered, retrying, failed (gave up after the "
    "retry horizon) or refused (the endpoint no longer resolves to a public address).",
    ["outcome"],
)
WEBHOOK_DELIVERY_LATENCY = Histogram(
    "journey_webhook_delivery_latency_seconds",
    "From a delivery's enqueueing (the flag's transaction) to the receiver's 2xx.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600, 86400),
)
WEBHOOK_BACKLOG = Gauge(
    "journey_webhook_backlog_deliveries",
    "Webhook deliveries neither delivered nor given up on (due, leased or waiting to retry).",
)
