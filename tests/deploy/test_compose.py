"""docker-compose.yml runs the whole system: a Duty to Notify report whose adult declined
referral, sent to the referral API in its container, comes out of the processor in its
container as an `adult-declined-referral` flag on journey.dropoffs."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from journey_api.auth import SCOPES
from journey_api.tokens import DevelopmentSigner
from journey_cli.devstack.processes import free_ports
from journey_cli.images.engine import Engine
from journey_cli.images.recipes import Built
from journey_platform.kafka import client_options
from journey_platform.settings import find_schemas_dir

ROOT = find_schemas_dir().parent
# The services with a healthcheck in the compose file.
HEALTHCHECKED = (
    "kafka",
    "postgres",
    "referral",
    "support",
    "prosecution",
    "flags",
    "analytics",
)
HOST_PORTS = (
    "KAFKA_PORT",
    "POSTGRES_PORT",
    "JAEGER_PORT",
    "PROMETHEUS_PORT",
    "REFERRAL_PORT",
    "SUPPORT_PORT",
    "PROSECUTION_PORT",
    "ANALYTICS_PORT",
)


@dataclass
class Compose:
    engine: Engine
    project: str
    env: dict[str, str]

    @property
    def command(self) -> list[str]:
        if self.engine.name == "podman":
            podman_compose = Path(sys.executable).parent / "podman-compose"
            return [str(podman_compose), "--podman-path", self.engine.command]
        return [self.engine.command, "compose"]

    def __call__(self, *args: str, timeout: float = 600) -> None:
        subprocess.run(
            [*self.command, "-p", self.project, "-f", str(ROOT / "docker-compose.yml"), *args],
            cwd=ROOT,
            env={**self.engine.environment(), **self.env},
            check=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def port(self, name: str) -> int:
        return int(self.env[name])

    def containers(self) -> dict[str, str]:
        """Service name -> container name, for this project's containers."""
        listed = self.engine.run(
            "ps",
            "-a",
            "--filter",
            f"label=com.docker.compose.project={self.project}",
            "--format",
            "json",
        )
        found = {}
        for container in json.loads(listed.stdout or b"[]"):
            labels = container.get("Labels") or {}
            names = container.get("Names") or []
            found[labels.get("com.docker.compose.service", "")] = names[0]
        return found

    def healthy(self, container: str) -> bool:
        """podman without systemd runs no healthcheck timers: run the check here, as the
        timer would. Docker runs them itself: read the state."""
        if self.engine.name == "podman":
            return self.engine.run("healthcheck", "run", container, check=False).returncode == 0
        state = self.engine.run("inspect", "--format", "{{.State.Health.Status}}", container)
        return state.stdout.decode().strip() == "healthy"

    def logs(self) -> str:
        out = []
        for service, container in self.containers().items():
            result = self.engine.run("logs", "--tail", "30", container, check=False)
            text = (result.stdout + result.stderr).decode(errors="replace")
            out.append(f"--- {service}\n{text}")
        return "\n".join(out)


@pytest.fixture
def auth_dir() -> Iterator[Path]:
    """A development signing key and its JWKS, readable by the containers' user."""
    folder = Path(tempfile.mkdtemp(prefix="vj-compose-auth-"))
    DevelopmentSigner(folder)
    folder.chmod(0o755)
    (folder / "jwks.json").chmod(0o644)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def stack(engine: Engine, images: dict[str, Built], auth_dir: Path) -> Iterator[Compose]:
    variables = {b.variable: b.tag for b in images.values() if b.variable}
    ports = dict(zip(HOST_PORTS, map(str, free_ports(len(HOST_PORTS))), strict=True))
    compose = Compose(
        engine,
        f"vjtest{uuid.uuid4().hex[:8]}",
        {**variables, **ports, "JOURNEY_AUTH_DIR": str(auth_dir)},
    )
    began = time.monotonic()
    try:
        compose("up", "-d")
        print(f"compose up returned in {time.monotonic() - began:.1f}s")
        yield compose
    except BaseException:
        print(compose.logs())
        raise
    finally:
        stopping = time.monotonic()
        compose("down", "-v", "-t", "20")
        print(f"compose down -v took {time.monotonic() - stopping:.1f}s")


def test_a_declined_duty_to_notify_report_is_flagged_through_the_compose_stack(
    stack: Compose, auth_dir: Path
) -> None:
    began = time.monotonic()
    wait_until_healthy(stack, within=300)
    print(f"every healthcheck passed {time.monotonic() - began:.1f}s after up returned")

    signer = DevelopmentSigner(auth_dir)
    token = signer.mint(agency_id="northshire-police", scopes=sorted(SCOPES))
    response = httpx.post(
        f"http://127.0.0.1:{stack.port('REFERRAL_PORT')}/v1/duty-to-notify-reports",
        json={
            "occurred_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
            "region": "london",
            "exploitation_types": ["labour"],
            "reason_declined": "fear_of_reprisal",
        },
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    journey = response.json()["journey_id"]

    sent = time.monotonic()
    flag = asyncio.run(first_flag(f"127.0.0.1:{stack.port('KAFKA_PORT')}", journey, within=180))
    print(f"flag on journey.dropoffs {time.monotonic() - sent:.1f}s after the 201")
    assert flag["rule_id"] == "adult-declined-referral"


def wait_until_healthy(stack: Compose, *, within: float) -> None:
    deadline = time.monotonic() + within
    waiting = set(HEALTHCHECKED)
    while waiting:
        containers = stack.containers()
        waiting = {s for s in waiting if s not in containers or not stack.healthy(containers[s])}
        migrate = containers.get("migrate")
        if migrate:
            state = stack.engine.container_state(migrate)
            if state["Status"] == "exited" and state["ExitCode"] != 0:
                raise AssertionError(f"the migrate one-shot failed ({state['ExitCode']})")
        if waiting and time.monotonic() > deadline:
            raise AssertionError(f"not healthy after {within:.0f}s: {sorted(waiting)}")
        if waiting:
            time.sleep(1)  # polling with a deadline, not synchronisation


async def first_flag(bootstrap: str, journey: str, *, within: float) -> dict[str, object]:
    """The first record for `journey` on journey.dropoffs, read from the beginning."""
    consumer = AIOKafkaConsumer(
        "journey.dropoffs",
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
        **client_options(),
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    if record.key == journey.encode():
                        value: dict[str, object] = json.loads(record.value or b"{}")
                        return value
        raise AssertionError(f"no flag for {journey} on journey.dropoffs within {within:.0f}s")
    finally:
        await consumer.stop()
