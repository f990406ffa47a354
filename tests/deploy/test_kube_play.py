"""The chart's workloads run: rendered with the default scenario's values, its
Deployments and its StatefulSet's pods go to `podman kube play` with the locally built
image, against a Kafka and a PostgreSQL in containers beside them; the migrations hook's
pod runs first. Every pod starts and every readiness probe passes (then every liveness
probe, once). What podman 4.3 cannot take is in tests/deploy/kubeplay.py's docstring."""

from __future__ import annotations

import base64
import json
import re
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from journey_api.tokens import DEV_AUDIENCE, DEV_ISSUER, DevelopmentSigner
from journey_cli.devstack.gotools import built_tool
from journey_cli.devstack.processes import free_ports
from journey_cli.images.engine import Engine
from journey_cli.images.recipes import Built
from tests.deploy import kubeplay
from tests.deploy.helm import CHART, NAMESPACE, ROOT, objects, run, values_file

# helm built from its Go module assumes Kubernetes 1.20 unless told; the chart needs 1.30+.
KUBE_VERSION = "1.37.2"


def kafka_environment(container: str) -> dict[str, str]:
    """The compose file's Kafka, its INTERNAL listener named after its container."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    environment = {k: str(v) for k, v in compose["services"]["kafka"]["environment"].items()}
    environment["KAFKA_LISTENERS"] = "INTERNAL://:9092,CONTROLLER://:9093"
    environment["KAFKA_ADVERTISED_LISTENERS"] = f"INTERNAL://{container}:9092"
    return environment


def server_image(images: dict[str, Built], name: str, variable: str) -> str:
    """The local build of a server's image, or else the compose file's public default."""
    if name in images:
        return images[name].tag
    found = re.search(rf"\$\{{{variable}:-([^}}]+)\}}", (ROOT / "docker-compose.yml").read_text())
    assert found, f"docker-compose.yml names no default for {variable}"
    return found.group(1)


@dataclass
class Podman:
    """Everything this test creates, each named with its prefix, and removed after."""

    engine: Engine
    prefix: str
    folder: Path
    made: list[tuple[str, ...]] = field(default_factory=list)  # removal commands, in order

    @property
    def network(self) -> str:
        return self.prefix

    def secret(self, name: str, data: dict[str, str]) -> str:
        path = self.folder / f"{name}.json"
        path.write_bytes(kubeplay.secret_json(data))
        self.engine.run("secret", "create", f"{self.prefix}-{name}", str(path))
        self.made.append(("secret", "rm", f"{self.prefix}-{name}"))
        return f"{self.prefix}-{name}"

    def server(
        self, name: str, image: str, environment: dict[str, str], *args: str, volume: str = ""
    ) -> str:
        container = f"{self.prefix}-{name}"
        options = [arg for key, value in environment.items() for arg in ("-e", f"{key}={value}")]
        if volume:
            options += ["--volume", volume]
        self.made.append(("rm", "-f", "-t", "5", container))
        self.engine.run(
            "run", "-d", "--name", container, "--network", self.network, *options, image, *args
        )
        return container

    def play(self, name: str, manifests: list[kubeplay.Manifest]) -> None:
        path = self.folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump_all(manifests))
        self.made += [("pod", "rm", "-f", pod) for m in manifests for pod in kubeplay.pod_names(m)]
        self.made.append(("kube", "down", str(path)))
        self.engine.run("kube", "play", "--network", self.network, str(path))

    def remove_all(self) -> None:
        for command in reversed(self.made):
            self.engine.run(*command, check=False)
        self.engine.run("network", "rm", "-f", self.network, check=False)

    def logs(self, container: str) -> str:
        result = self.engine.run("logs", "--tail", "40", container, check=False)
        return (result.stdout + result.stderr).decode(errors="replace")


@pytest.fixture
def podman(engine: Engine, say: Callable[[str], None]) -> Iterator[Podman]:
    if engine.name != "podman":
        pytest.skip("podman kube play needs podman")
    folder = Path(tempfile.mkdtemp(prefix="kubeplay-"))
    folder.chmod(0o755)
    made = Podman(engine, f"kubeplay-{uuid.uuid4().hex[:8]}", folder)
    made.engine.run("network", "create", made.network)
    try:
        yield made
    finally:
        began = time.monotonic()
        made.remove_all()
        shutil.rmtree(folder, ignore_errors=True)
        say(f"kube play: kube down and removal took {time.monotonic() - began:.1f}s")


def test_every_workload_of_the_chart_starts_and_becomes_ready_under_podman_kube_play(
    podman: Podman, images: dict[str, Built], say: Callable[[str], None]
) -> None:
    began = time.monotonic()
    kafka_image = server_image(images, "kafka", "KAFKA_IMAGE")
    kafka = podman.server("kafka", kafka_image, kafka_environment(f"{podman.prefix}-kafka"))
    postgres = podman.server(
        "postgres",
        server_image(images, "postgres", "POSTGRES_IMAGE"),
        {"POSTGRES_HOST_AUTH_METHOD": "trust"},  # generated data only
    )
    names = secrets_for(podman, postgres=postgres)
    # podman 4.3 panics on a Secret volume (nil secrets manager in VolumeFromSecret): the
    # JWKS comes by URL instead (auth.jwksUrl), served from the image by Python.
    jwks = podman.server(
        "jwks",
        images["app"].tag,
        {},
        *("http.server", "8080", "--directory", "/srv"),
        volume=f"{signer_folder(podman)}:/srv:ro",
    )
    rendered = objects(
        render(podman, images["app"].tag, kafka=kafka, names=names, jwks=f"http://{jwks}:8080")
    )
    say(f"kube play: servers started and chart rendered in {time.monotonic() - began:.1f}s")

    # The pre-install hook first: migrations (with --wait: the servers are just starting).
    [job] = [obj for obj in rendered if obj["kind"] == "Job"]
    migrations = kubeplay.job_pod(job)
    # The Job creates the catalogued topics too: it is given the chart's Kafka settings.
    container = kubeplay.pod_spec(migrations)["containers"][0]
    started = time.monotonic()
    podman.play("migrations", [migrations])
    wait_until_exited(podman, f"{migrations['metadata']['name']}-{container['name']}", within=300)
    say(f"kube play: the migrations pod finished in {time.monotonic() - started:.1f}s")

    workloads = kubeplay.with_host_ports(kubeplay.playable(rendered), iter(free_ports(20)))
    started = time.monotonic()
    podman.play("workloads", workloads)
    say(f"kube play: {len(workloads)} pods created in {time.monotonic() - started:.1f}s")
    wait_until_ready(podman, workloads, within=300)
    say(f"kube play: every readiness probe passed {time.monotonic() - started:.1f}s after play")
    failing = probes_failing(podman, workloads, "livenessProbe")
    assert not failing, failing
    for container in containers(workloads):
        assert_restricted(podman.engine, container)
    say(f"kube play: every liveness probe passed; {time.monotonic() - began:.1f}s in all")


def signer_folder(podman: Podman) -> Path:
    """A development signing key and its JWKS, readable by the image's user."""
    folder = podman.folder / "auth"
    DevelopmentSigner(folder)
    folder.chmod(0o755)
    (folder / "jwks.json").chmod(0o644)
    return folder


def secrets_for(podman: Podman, *, postgres: str) -> dict[str, str]:
    """The Secrets the chart references, as podman secrets; their names by role."""
    # The chart's keys of the database URLs, by database.
    keys = yaml.safe_load((CHART / "values.yaml").read_text())["postgresql"]["keys"]
    urls = {key: f"postgresql://postgres@{postgres}:5432/{db}" for db, key in keys.items()}
    return {
        "databases": podman.secret("databases", urls),
        "keys": podman.secret(
            "keys",
            {
                "pseudonym-key": secrets.token_urlsafe(32),
                "identity-master-key": base64.b64encode(secrets.token_bytes(32)).decode(),
                "notes-master-key": base64.b64encode(secrets.token_bytes(32)).decode(),
                "webhook-master-key": base64.b64encode(secrets.token_bytes(32)).decode(),
            },
        ),
    }


def render(podman: Podman, image: str, *, kafka: str, names: dict[str, str], jwks: str) -> str:
    """The default scenario, pointed at this test's servers, Secrets and image."""
    repository, _, tag = image.rpartition(":")
    values: dict[str, Any] = {
        "image": {"repository": repository, "tag": tag},
        "kafka": {"bootstrapServers": f"{kafka}:9092"},
        "postgresql": {"existingSecret": names["databases"]},
        "secrets": {
            "pseudonymKey": {"existingSecret": names["keys"]},
            "identityMasterKey": {"existingSecret": names["keys"]},
            "notesMasterKey": {"existingSecret": names["keys"]},
            "webhookMasterKey": {"existingSecret": names["keys"]},
        },
        "auth": {
            "issuer": DEV_ISSUER,
            "audience": DEV_AUDIENCE,
            "jwksUrl": f"{jwks}/jwks.json",
        },
        "migrations": {"command": ["python", "-m", "journey_cli", "migrate", "--wait", "180"]},
    }
    path = podman.folder / "values.yaml"
    path.write_text(json.dumps(values))
    helm = built_tool("helm")
    result = run(
        [
            helm,
            "template",
            podman.prefix,
            CHART,
            "--namespace",
            NAMESPACE,
            "--kube-version",
            KUBE_VERSION,
            "--values",
            values_file("default"),
            "--values",
            path,
        ]
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def containers(workloads: list[kubeplay.Manifest]) -> list[str]:
    return [
        f"{pod}-{container['name']}"
        for workload in workloads
        for pod in kubeplay.pod_names(workload)
        for container in kubeplay.pod_spec(workload)["containers"]
    ]


def assert_restricted(engine: Engine, container: str) -> None:
    """What podman made of the restricted security context: the image's non-root user, a
    read-only root filesystem, no new privileges, and no capability left to the process."""
    [details] = json.loads(engine.run("container", "inspect", container).stdout)
    assert details["Config"]["User"] == "10001:10001", (container, details["Config"]["User"])
    assert details["HostConfig"]["ReadonlyRootfs"], container
    assert "no-new-privileges" in (details["HostConfig"]["SecurityOpt"] or []), container
    status = engine.run("exec", container, "python", "-c", "print(open('/proc/1/status').read())")
    effective = re.search(r"^CapEff:\s*(\w+)$", status.stdout.decode(), re.MULTILINE)
    assert effective and int(effective.group(1), 16) == 0, (container, effective)


def wait_until_exited(podman: Podman, container: str, *, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        state = podman.engine.container_state(container)
        if state["Status"] == "exited":
            assert state["ExitCode"] == 0, f"{container} failed:\n{podman.logs(container)}"
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{container} still {state['Status']} after {within:.0f}s")
        time.sleep(1)  # polling with a deadline, not synchronisation


def wait_until_ready(podman: Podman, workloads: list[kubeplay.Manifest], *, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        failing = probes_failing(podman, workloads, "readinessProbe")
        if not failing:
            return
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {c}\n{podman.logs(c)}" for c in failing)
            raise AssertionError(f"not ready after {within:.0f}s: {failing}\n{logs}")
        time.sleep(1)  # polling with a deadline, not synchronisation


def probes_failing(podman: Podman, workloads: list[kubeplay.Manifest], kind: str) -> dict[str, str]:
    """Container name -> why its probe fails, for every container whose probe fails; a
    container that has stopped fails at once."""
    failing = {}
    for workload in workloads:
        containers = kubeplay.pod_spec(workload)["containers"]
        for pod in kubeplay.pod_names(workload):
            address = kubeplay.pod_address(podman.engine, pod, podman.network)
            for container in containers:
                name = f"{pod}-{container['name']}"
                state = podman.engine.container_state(name)
                if state["Status"] != "running":
                    raise AssertionError(f"{name} is {state['Status']}:\n{podman.logs(name)}")
                if kind in container:
                    why = kubeplay.probe(podman.engine, name, address, container, kind)
                    if why:
                        failing[name] = why
    return failing
