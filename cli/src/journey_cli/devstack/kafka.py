"""A real Apache Kafka 4 broker without Docker: jars from Maven Central, KRaft combined mode.

`deploy/local/pom.xml` names the Kafka version and a log4j2 binding; Maven copies the
jars once into the stack folder, `kafka.tools.StorageTool format` prepares the log
directory, and `kafka.Kafka` runs one node that is both broker and controller.

`security` "plaintext" (the default) lets anyone in; "sasl_ssl" is the broker as production
runs it (`kafkasec`), with its own log directory so switching between them loses nothing.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from journey_cli.devstack.kafkasec import BrokerSecurity
from journey_cli.devstack.processes import (
    StackError,
    launch,
    port_open,
    read_pid,
    stop_process,
)
from journey_platform.contracts import Contracts
from journey_platform.settings import find_schemas_dir

MIN_JAVA = 17
Security = Literal["plaintext", "sasl_ssl"]
SECURITIES: tuple[Security, ...] = ("plaintext", "sasl_ssl")


@dataclass(frozen=True)
class LocalKafka:
    home: Path  # .devstack/kafka
    pom: Path
    port: int
    security: Security = "plaintext"
    # Where Maven puts the jars; a test's own broker shares the stack's instead of its own.
    jars: Path | None = None

    @property
    def data(self) -> Path:
        return self.home / ("data" if self.security == "plaintext" else f"data-{self.security}")

    @property
    def secured(self) -> BrokerSecurity | None:
        """Its certificates and principals when it runs SASL_SSL; None when plaintext."""
        return BrokerSecurity(self.home / "security") if self.security == "sasl_ssl" else None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "kafka.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "server.log"

    def running(self) -> bool:
        return read_pid(self.pid_file) is not None

    def start(self) -> bool:
        """Start the broker unless it runs already; True if this call started it.
        A secured broker gets a password for each service the catalogue names (made now
        when missing, even while it runs: the stack sets them on the broker at every `up`)."""
        if self.secured:
            self.secured.prepare(Contracts.load(find_schemas_dir()))
        if self.running():
            return False
        if port_open("127.0.0.1", self.port):
            raise StackError(
                f"port {self.port} is taken by another process; set DEVSTACK_KAFKA_PORT "
                "or KAFKA_BOOTSTRAP_SERVERS to use an existing broker"
            )
        java = find_java()
        classpath = self.resolve_jars()
        config = self._write_config()
        if not (self.data / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            self._java(
                java,
                classpath,
                "kafka.tools.StorageTool",
                "format",
                # One argument with `=`: a base64 id may start with "-", which the
                # tool's parser would otherwise take for an option (1 start in 64).
                f"--cluster-id={cluster_id}",
                "-c",
                str(config),
                *(self.secured.format_arguments() if self.secured else []),
                check=True,
            )
        launch(
            [
                java,
                "-Xms256m",
                "-Xmx768m",
                *self._jvm_flags(),
                "-cp",
                classpath,
                "kafka.Kafka",
                str(config),
            ],
            what="Kafka",
            pid_file=self.pid_file,
            log_file=self.home / "logs" / "stdout.log",
            ports=(self.port,),
            timeout=90,
            server_log=self.log_file,
        )
        return True

    def stop(self) -> bool:
        return stop_process(self.pid_file, timeout=45)

    def _jvm_flags(self) -> list[str]:
        return [
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.home / 'logs'}",
            "-Djava.awt.headless=true",
        ]

    def _java(self, java: str, classpath: str, *args: str, check: bool) -> None:
        result = subprocess.run(
            [java, *self._jvm_flags(), "-cp", classpath, *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise StackError(f"{args[0]} failed:\n{result.stdout}{result.stderr}")

    def resolve_jars(self) -> str:
        libs = self.jars or self.home / "libs"
        stamp = libs / ".resolved-from"
        pom_text = self.pom.read_text()
        if not stamp.exists() or stamp.read_text() != pom_text:
            mvn = shutil.which("mvn")
            if mvn is None:
                raise StackError(
                    "Maven (mvn) is needed to fetch Kafka from Maven Central: apt-get install "
                    "maven, or set KAFKA_BOOTSTRAP_SERVERS to use an existing broker"
                )
            shutil.rmtree(libs, ignore_errors=True)
            result = subprocess.run(
                [
                    mvn,
                    "-q",
                    "-B",
                    "-f",
                    str(self.pom),
                    "dependency:copy-dependencies",
                    f"-DoutputDirectory={libs}",
                    "-DincludeScope=runtime",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise StackError(
                    f"mvn could not resolve Kafka:\n{result.stdout[-3000:]}{result.stderr[-2000:]}"
                )
            stamp.write_text(pom_text)
        return str(libs / "*")

    def _write_config(self) -> Path:
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        controller = self.port + 1
        listeners = (
            self.secured.server_properties(self.port, controller)
            if self.secured
            else [
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{controller}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            ]
        )
        config = self.home / "server.properties"
        # A secured broker's holds the superuser's password: its owner's eyes only.
        config.unlink(missing_ok=True)
        config.touch(mode=0o600)
        config.write_text(
            "\n".join(
                [
                    "# Written by `journey devstack`: one node, broker and controller (KRaft).",
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{controller}",
                    *listeners,
                    f"log.dirs={self.data}",
                    # One node: internal topics cannot have more replicas than that.
                    "offsets.topic.replication.factor=1",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    # Topics come from schemas/topics.yaml, never from a typo in a client.
                    "auto.create.topics.enable=false",
                    "",
                ]
            )
        )
        self._write_logging()
        return config

    def _write_logging(self) -> None:
        """The broker's log: a file that rolls at 20 MB, three kept."""
        (self.home / "log4j2.properties").write_text(
            "\n".join(
                [
                    "status = warn",
                    "appender.file.type = RollingFile",
                    "appender.file.name = file",
                    f"appender.file.fileName = {self.log_file}",
                    f"appender.file.filePattern = {self.home / 'logs' / 'server-%i.log'}",
                    "appender.file.layout.type = PatternLayout",
                    "appender.file.layout.pattern = [%d] %p %m (%c)%n",
                    "appender.file.policies.type = Policies",
                    "appender.file.policies.size.type = SizeBasedTriggeringPolicy",
                    "appender.file.policies.size.size = 20MB",
                    "appender.file.strategy.type = DefaultRolloverStrategy",
                    "appender.file.strategy.max = 3",
                    "rootLogger.level = info",
                    "rootLogger.appenderRef.file.ref = file",
                    "",
                ]
            )
        )


def find_java() -> str:
    """A Java runtime of at least MIN_JAVA, or a StackError that says how to get one."""
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    if found := shutil.which("java"):
        candidates.append(found)
    for java in candidates:
        try:
            result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
        except OSError:
            continue
        match = re.search(r'version "(\d+)', result.stderr + result.stdout)
        if match and int(match[1]) >= MIN_JAVA:
            return java
    raise StackError(
        f"Java {MIN_JAVA} or newer is needed to run Kafka: apt-get install openjdk-17-jre-headless "
        "(or set JAVA_HOME), or set KAFKA_BOOTSTRAP_SERVERS to use an existing broker"
    )
