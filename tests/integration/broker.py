"""A Kafka broker of a test's own, to stop and start at will (the session's is shared).

The same broker the local stack runs (`journey devstack`: Apache Kafka from Maven
Central, KRaft), in the test's folder on ports of its own.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import time
from pathlib import Path

from aiokafka.errors import KafkaConnectionError

from journey_cli.devstack import Stack
from journey_cli.devstack.kafka import LocalKafka, Security
from journey_cli.devstack.processes import read_pid
from journey_platform.contracts import Contracts
from journey_platform.kafka import ensure_topics
from journey_platform.settings import find_schemas_dir


def kafka_port() -> int:
    """A broker port whose neighbour (the KRaft controller's) is free too, below the
    ephemeral range, where an outgoing connection cannot take it in the meantime."""
    ports = list(range(21000, 32000, 2))
    random.shuffle(ports)
    for port in ports:
        if all(_free(p) for p in (port, port + 1)):
            return port
    raise AssertionError("no two free ports next to each other")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def own_broker(root: Path, security: Security = "plaintext") -> LocalKafka:
    """A started broker with its data under `root`, on the jars the local stack resolved
    (Maven copies them once, not once per test)."""
    pom = find_schemas_dir().parent / "deploy" / "local" / "pom.xml"
    broker = LocalKafka(
        home=root / "kafka",
        pom=pom,
        port=kafka_port(),
        security=security,
        jars=Stack.from_environment(kafka_security="plaintext").root / "kafka" / "libs",
    )
    broker.start()
    return broker


def prepare(broker: LocalKafka, contracts: Contracts, *, within: float = 60) -> None:
    """Create the catalogued topics (and on a secured broker its users and ACLs), as
    `journey devstack up` does. A broker just started may refuse its superuser for a moment
    (the SCRAM credentials it was formatted with are not loaded yet), so this asks again
    until the deadline."""
    admin = broker.secured.security("admin") if broker.secured else None
    deadline = time.monotonic() + within
    while True:
        try:
            asyncio.run(ensure_topics(broker.bootstrap, contracts, security=admin))
            break
        except KafkaConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)  # polling the broker's readiness with a deadline
    if broker.secured:
        broker.secured.grant(broker.bootstrap, contracts)


def kill(broker: LocalKafka) -> None:
    """SIGKILL: the broker stops dead, as a lost node does."""
    pid = read_pid(broker.pid_file)
    assert pid is not None, "the broker is not running"
    os.killpg(pid, signal.SIGKILL)
    broker.pid_file.unlink(missing_ok=True)
