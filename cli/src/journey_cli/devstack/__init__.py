"""`journey devstack`: a real Kafka broker, PostgreSQL server, Jaeger and Prometheus on this
machine, no Docker.

State and logs live under one project-local folder (`.devstack/`, or DEVSTACK_DIR); Jaeger
and Prometheus are built once per user from the Go module proxy (see `gotools`).
KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL, when set, name existing servers to use
instead: the stack then only waits for them and creates the catalogued topics. Likewise
OTEL_EXPORTER_OTLP_ENDPOINT names an existing trace collector, and no Jaeger is started.

Ports (each overridable): Kafka 19092 (DEVSTACK_KAFKA_PORT), PostgreSQL 15432
(DEVSTACK_POSTGRES_PORT), Jaeger OTLP/HTTP 14318, OTLP/gRPC 14317 and UI/query API 16686
(DEVSTACK_JAEGER_OTLP_HTTP_PORT, DEVSTACK_JAEGER_OTLP_GRPC_PORT, DEVSTACK_JAEGER_QUERY_PORT),
Prometheus 19090 (DEVSTACK_PROMETHEUS_PORT).

The broker lets anyone in unless asked for `up --kafka-security sasl_ssl` (or
DEVSTACK_KAFKA_SECURITY=sasl_ssl): then it runs SASL_SSL with one principal per service and
ACLs from the topic catalogue (see `kafkasec`). The choice is kept for later commands
(`.devstack/kafka/mode`); changing it needs a `down` first.

On request only (`up --kube`, or DEVSTACK_KUBE=1), a Kubernetes API server with its etcd
(see `kube`): 16443, 12379 and 12380 (DEVSTACK_KUBE_PORT, DEVSTACK_KUBE_ETCD_PORT,
DEVSTACK_KUBE_ETCD_PEER_PORT). `down` stops it whenever it runs.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from journey_cli.devstack import readiness
from journey_cli.devstack.jaeger import LocalJaeger
from journey_cli.devstack.kafka import SECURITIES, LocalKafka, Security
from journey_cli.devstack.kube import LocalKube
from journey_cli.devstack.postgres import LocalPostgres
from journey_cli.devstack.processes import StackError
from journey_cli.devstack.prometheus import ALERT_RULES, LocalPrometheus
from journey_platform.settings import KafkaSecurity, find_schemas_dir

__all__ = ["Stack", "StackError"]


def _project_root() -> Path:
    return find_schemas_dir().parent


def _port(name: str, default: int) -> int:
    return int(os.environ.get(f"DEVSTACK_{name}_PORT", str(default)))


@dataclass(frozen=True)
class Stack:
    """Where the stack's parts live and how to reach them."""

    root: Path
    kafka: LocalKafka | None  # None: an existing broker named by KAFKA_BOOTSTRAP_SERVERS
    postgres: LocalPostgres | None  # None: an existing server named by DATABASE_URL
    jaeger: LocalJaeger | None  # None: an existing collector named by OTEL_EXPORTER_OTLP_ENDPOINT
    prometheus: LocalPrometheus
    bootstrap_servers: str
    database_url: str
    otlp_endpoint: str
    kube: LocalKube  # started only when asked: up(kube=True) or DEVSTACK_KUBE=1

    @classmethod
    def from_environment(cls, *, kafka_security: str | None = None) -> Stack:
        """`kafka_security` (else DEVSTACK_KAFKA_SECURITY, else what the last `up` chose)
        says whether the local broker runs plaintext or sasl_ssl."""
        project = _project_root()
        root = Path(os.environ.get("DEVSTACK_DIR", project / ".devstack")).resolve()
        kafka = postgres = None
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not bootstrap:
            kafka = LocalKafka(
                home=root / "kafka",
                pom=project / "deploy" / "local" / "pom.xml",
                port=_port("KAFKA", 19092),
                security=_kafka_security(
                    kafka_security or os.environ.get("DEVSTACK_KAFKA_SECURITY"), root / "kafka"
                ),
            )
            bootstrap = kafka.bootstrap
        database_url = os.environ.get("DATABASE_URL")
        if not database_url:
            postgres = LocalPostgres(home=root / "postgres", port=_port("POSTGRES", 15432))
            database_url = postgres.url
        jaeger = None
        otlp_endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if not otlp_endpoint:
            jaeger = LocalJaeger(
                home=root / "jaeger",
                otlp_http_port=_port("JAEGER_OTLP_HTTP", 14318),
                otlp_grpc_port=_port("JAEGER_OTLP_GRPC", 14317),
                query_port=_port("JAEGER_QUERY", 16686),
            )
            otlp_endpoint = jaeger.otlp_endpoint
        prometheus = LocalPrometheus(
            home=root / "prometheus", port=_port("PROMETHEUS", 19090), rules=project / ALERT_RULES
        )
        kube = LocalKube(
            home=root / "kube",
            port=_port("KUBE", 16443),
            etcd_port=_port("KUBE_ETCD", 12379),
            etcd_peer_port=_port("KUBE_ETCD_PEER", 12380),
        )
        return cls(
            root, kafka, postgres, jaeger, prometheus, bootstrap, database_url, otlp_endpoint, kube
        )

    @staticmethod
    def kube_requested() -> bool:
        return os.environ.get("DEVSTACK_KUBE", "").lower() in {"1", "true", "yes"}

    @property
    def env_file(self) -> Path:
        return self.root / "env"

    @property
    def kafka_admin(self) -> KafkaSecurity | None:
        """How the stack itself talks to Kafka: as the superuser of a secured local broker,
        plainly to a plaintext one, and as the environment says to an existing broker."""
        if self.kafka is None:
            return None
        if self.kafka.secured:
            return self.kafka.secured.security("admin")
        return KafkaSecurity(security_protocol="PLAINTEXT")

    def environment(self) -> dict[str, str]:
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "DATABASE_URL": self.database_url,
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.otlp_endpoint,
            # The local Jaeger's endpoint is its OTLP/HTTP base URL; an existing collector's
            # protocol is the caller's to choose.
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"
            if self.jaeger
            else os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        }
        if self.kafka and self.kafka.secured:
            env |= self.kafka.secured.client_environment()
        # With an existing collector, JAEGER_URL passes through if the caller named one.
        jaeger_url = self.jaeger.url if self.jaeger else os.environ.get("JAEGER_URL")
        if jaeger_url:
            env["JAEGER_URL"] = jaeger_url
        env["PROMETHEUS_URL"] = self.prometheus.url
        if self.kube.running():
            env["KUBECONFIG"] = str(self.kube.kubeconfig)
        return env

    def kafka_principal(self, service: str | None) -> dict[str, str]:
        """The credentials `service` runs with on a secured local broker (none otherwise,
        and none for a process that does not use Kafka)."""
        if service is None or self.kafka is None or self.kafka.secured is None:
            return {}
        return self.kafka.secured.environment(service)

    def scrape(self, job: str, port: int) -> None:
        """Have Prometheus scrape 127.0.0.1:<port>/metrics with the label job=<job>."""
        self.prometheus.scrape(job, port)

    def unscrape(self, job: str) -> None:
        """Stop scraping `job` (a process that served metrics has stopped)."""
        self.prometheus.unscrape(job)

    def up(self, *, kube: bool = False) -> list[str]:
        """Start what is not running, wait for every server, create topics. Safe to repeat.

        The Kubernetes API server starts too with `kube` or DEVSTACK_KUBE=1."""
        self.root.mkdir(parents=True, exist_ok=True)
        started: list[str] = []
        try:
            if self.postgres and self.postgres.start():
                started.append("postgres")
            if self.kafka and self._start_kafka(self.kafka):
                started.append("kafka")
            # The first start on a machine builds them from the Go module proxy (minutes, once).
            if self.jaeger and self.jaeger.start():
                started.append("jaeger")
            if self.prometheus.start():
                started.append("prometheus")
            # Its first start builds etcd and kube-apiserver (tens of minutes, once).
            if (kube or self.kube_requested()) and self.kube.start():
                started.append("kube")
            asyncio.run(readiness.wait_and_prepare(self, within=120))
        except BaseException:
            # A failed `up` leaves nothing of its own running: the caller never learns what
            # started, so nobody else would stop it.
            self._stop(started)
            raise
        self.env_file.write_text(
            "".join(f"export {k}={v}\n" for k, v in self.environment().items())
        )
        return started

    def _stop(self, names: list[str]) -> None:
        servers = {
            "postgres": self.postgres,
            "kafka": self.kafka,
            "jaeger": self.jaeger,
            "prometheus": self.prometheus,
            "kube": self.kube,
        }
        for name in reversed(names):
            server = servers[name]
            if server is not None:
                server.stop()

    @staticmethod
    def _start_kafka(kafka: LocalKafka) -> bool:
        mode = kafka.home / "mode"
        if kafka.running() and mode.exists() and mode.read_text() != kafka.security:
            raise StackError(
                f"the local broker runs {mode.read_text()}, not {kafka.security}: "
                "`journey devstack down` first, then `up` again"
            )
        started = kafka.start()
        mode.write_text(kafka.security)
        return started

    def down(self) -> list[str]:
        """Stop what this stack started (existing servers are left alone)."""
        stopped = []
        if self.kube.stop():
            stopped.append("kube")
        if self.prometheus.stop():
            stopped.append("prometheus")
        if self.jaeger and self.jaeger.stop():
            stopped.append("jaeger")
        if self.kafka and self.kafka.stop():
            stopped.append("kafka")
        if self.postgres and self.postgres.stop():
            stopped.append("postgres")
        return stopped

    def reset(self) -> None:
        """Stop the local servers and delete their data (kept: downloaded jars, binaries,
        the per-user cache of built Go tools): the next `up` starts from empty topics,
        databases, traces and metrics. Existing servers named by the environment are never
        touched."""
        self.down()
        if self.kafka:
            for security in SECURITIES:
                shutil.rmtree(replace(self.kafka, security=security).data, ignore_errors=True)
        if self.postgres:
            shutil.rmtree(self.postgres.data, ignore_errors=True)
        # Jaeger keeps traces in memory; its folder holds only a config and a log.
        if self.jaeger:
            shutil.rmtree(self.jaeger.home, ignore_errors=True)
        shutil.rmtree(self.prometheus.data, ignore_errors=True)
        shutil.rmtree(self.prometheus.targets, ignore_errors=True)
        # Its keys, certificates and token stay, so a kubeconfig handed out stays valid.
        shutil.rmtree(self.kube.etcd_data, ignore_errors=True)

    def status(self) -> dict[str, str]:
        return asyncio.run(readiness.status(self))


def _kafka_security(chosen: str | None, home: Path) -> Security:
    """The broker's security: as chosen, else as the last `up` left it, else plaintext."""
    mode = home / "mode"
    wanted = chosen or (mode.read_text() if mode.exists() else "plaintext")
    for security in SECURITIES:
        if wanted == security:
            return security
    raise StackError(f"Kafka security must be one of {', '.join(SECURITIES)}, not {wanted!r}")
