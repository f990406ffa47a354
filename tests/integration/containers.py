"""Kafka and PostgreSQL in throwaway containers (testcontainers), as docker-compose.yml runs
them: its images (KAFKA_IMAGE and POSTGRES_IMAGE, which `journey images` sets to the local
builds, else the compose file's public defaults), environments and healthchecks, each on a
free host port. The compose file stays the one home of how these servers are configured.

testcontainers' own KafkaContainer drives Confluent's image through that image's shell
scripts; `apache/kafka` and the local stand-in take KAFKA_* variables instead, as here.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping

import yaml
from docker.errors import DockerException
from testcontainers.core.container import DockerContainer
from testcontainers.core.docker_client import DockerClient
from testcontainers.core.wait_strategies import ExecWaitStrategy

from journey_cli.devstack.processes import free_port
from journey_cli.images.docker_api import RUN_LABEL, RUN_VARIABLE
from journey_platform.settings import find_schemas_dir

COMPOSE_FILE = find_schemas_dir().parent / "docker-compose.yml"
# Where the published ports answer: the compose file advertises Kafka to clients on the
# host at 127.0.0.1 too, so the engine must be this machine's (Docker, or podman).
HOST = "127.0.0.1"
_VARIABLE = re.compile(r"\$\{(\w+):-([^}]*)\}")  # compose's ${NAME:-default}


def docker_answers() -> bool:
    """Whether a Docker API answers where testcontainers looks (DOCKER_HOST, then
    ~/.testcontainers.properties, the Docker context, /var/run/docker.sock): Docker's, or
    podman's `podman system service` (which `journey testcontainers` starts)."""
    try:
        return bool(DockerClient(timeout=10).client.ping())
    except DockerException:
        return False


def _expand(text: str, values: Mapping[str, str]) -> str:
    return _VARIABLE.sub(lambda match: values.get(match[1]) or match[2], text)


@contextlib.contextmanager
def compose_service(name: str) -> Iterator[int]:
    """The compose file's service `name` in a container, started and healthy; yields the
    host port its one published port (`${NAME:-default}:port`) is on. Removed afterwards."""
    service = yaml.safe_load(COMPOSE_FILE.read_text())["services"][name]
    [published] = service["ports"]
    host_side, container_port = published.rsplit(":", 1)
    variable = _VARIABLE.fullmatch(host_side)
    if variable is None:
        raise ValueError(f"{COMPOSE_FILE.name}: {name} publishes {published!r}, not a variable")
    host_port = free_port()
    values = {**os.environ, variable[1]: str(host_port)}
    environment = {k: _expand(str(v), values) for k, v in service["environment"].items()}
    # The healthcheck's CMD, run until it passes: podman without systemd runs no healthcheck
    # timers, so waiting for the engine to call the container healthy would never end.
    test = service["healthcheck"]["test"]
    # `journey testcontainers` removes a killed run's containers by this label (podman has
    # no Ryuk here).
    labels = {RUN_LABEL: os.environ[RUN_VARIABLE]} if RUN_VARIABLE in os.environ else {}
    container = (
        DockerContainer(_expand(service["image"], values), hostname=name, labels=labels)
        .with_envs(**environment)
        .with_bind_ports(int(container_port), host_port)
        .waiting_for(ExecWaitStrategy(test[1:]).with_startup_timeout(180))
    )
    with container:
        yield host_port
