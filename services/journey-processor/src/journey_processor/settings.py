"""The journey processor's settings, from the environment; every engine reads the same ones."""

from __future__ import annotations

from os import getpid
from pathlib import Path
from socket import gethostname
from typing import Literal

import yaml
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from journey_platform.contracts import Contracts
from journey_platform.settings import PlatformSettings
from journey_processor.core.rulebook import RuleBook
from journey_processor.core.rules.catalogue import load


class ProcessorSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    service_name: str = "journey-processor"
    # kafka: transactional consume-transform-produce (confluent-kafka), the default.
    # faust: faust-streaming, for teams standardised on it (see the README's hazards).
    processor_engine: Literal["kafka", "faust"] = "kafka"
    # kafka engine: this worker's transactional id is "<app id>-<instance id>". A worker
    # started again under the same id aborts what its previous life left open at once
    # (on Kubernetes: the pod name). Two live workers must never share one; the default
    # (host and process id) never does.
    processor_instance_id: str = Field(default_factory=lambda: f"{gethostname()}-{getpid()}")
    # kafka engine: records per batch at most, and how long to wait for them.
    processor_batch_records: int = 2000
    processor_batch_wait_seconds: float = 0.1
    # kafka engine: with a backlog (a full batch), the transaction takes more batches
    # while these allow: a journey changed by several of them is encoded into the
    # changelog once, not once a batch (in a replay nearly every record of a batch is a
    # different journey). Bounded by time too, well inside the transaction timeout.
    processor_transaction_records: int = 10_000
    processor_transaction_seconds: float = 2.0
    # kafka engine: a transaction left open by a worker that died is aborted by the broker
    # after this long; until then the partitions it wrote cannot be restored past it.
    processor_transaction_timeout_seconds: float = 20.0
    # kafka engine: check every output against its contract before sending (tests do;
    # production relies on the tests, which saves a tenth of the processor's time).
    processor_validate_outputs: bool = False
    # The consumer group, and the prefix of the changelog topics.
    processor_app_id: str = "journey-processor"
    # faust engine: rocksdb:// in production (state on disk, rocksdict); memory:// in tests.
    processor_store: str = "rocksdb://"
    processor_data_dir: Path = Path("processor-data")
    # faust engine: its own web server (faust's pages; metrics are on METRICS_PORT). Off
    # unless a port is given, so that workers and benchmarks share a machine; when on, it
    # listens on this address only, loopback unless a deployment says otherwise.
    processor_web_port: int = 0
    processor_web_host: str = "127.0.0.1"
    processor_standby_replicas: int = 1  # faust engine: warm copies of other workers' tables
    # How soon the group notices a worker that died without saying goodbye (SIGKILL, a
    # lost node): its partitions wait this long before another worker takes them.
    processor_session_timeout_seconds: float = 30.0
    # Live clock: the group's leader ticks every journey partition this often with the
    # wall-clock time. 0 turns it off, for a simulation or replay that ticks itself.
    processor_clock_seconds: float = 60.0
    # faust engine: how often to look for source partitions left stalled by a rebalance.
    processor_watchdog_seconds: float = 10.0
    # faust engine: idle this long with work waiting (or stuck "rebalancing") and re-reading did not
    # help: exit with status 75 for the supervisor to start a fresh worker.
    processor_wedged_after_seconds: float = 120.0
    # faust engine: exit (75) when faust skips records, for a fresh worker to read them;
    # off only where the app runs inside another process (a test) that must not be ended.
    processor_exit_on_gap: bool = True
    # YAML mapping rule id -> within (hours / days / working_days): a deployment's
    # thresholds, checked against the catalogue at start.
    processor_rule_overrides: Path | None = None


def rule_book(settings: ProcessorSettings, contracts: Contracts) -> RuleBook:
    """The catalogue with the deployment's thresholds, checked against the contracts."""
    overrides = (
        yaml.safe_load(settings.processor_rule_overrides.read_text())
        if settings.processor_rule_overrides
        else None
    )
    return RuleBook.of(load(contracts, overrides=overrides).values())
