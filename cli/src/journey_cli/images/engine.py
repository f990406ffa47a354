"""The container engine `journey images` and the deploy tests drive: podman or docker.

podman is preferred where it is installed: it needs no daemon. On this kind of machine
(root, no systemd, rlimits above what runc may set) it reads `deploy/images/containers.conf`
through CONTAINERS_CONF: the runc runtime and lower default rlimits. A `docker` binary
counts only if its engine answers (`docker info`): a CLI with no daemon is no engine.
CONTAINER_ENGINE=podman|docker chooses explicitly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from journey_cli.devstack.processes import StackError
from journey_platform.settings import find_schemas_dir


def containers_conf() -> Path:
    return find_schemas_dir().parent / "deploy" / "images" / "containers.conf"


def ca_bundle() -> Path | None:
    """The host's CA bundle, for builds behind a TLS-intercepting proxy (see app.Containerfile)."""
    for candidate in (os.environ.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@dataclass(frozen=True)
class Engine:
    command: str  # "podman" or "docker"
    env: dict[str, str] = field(default_factory=dict)  # added to the caller's environment

    @property
    def name(self) -> str:
        return Path(self.command).name

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def run(
        self, *args: str, check: bool = True, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        result = subprocess.run(
            [self.command, *args],
            input=stdin,
            capture_output=True,
            env=self.environment(),
            check=False,
        )
        if check and result.returncode != 0:
            raise StackError(
                f"{self.name} {' '.join(args[:2])} failed ({result.returncode}):\n"
                f"{result.stdout.decode(errors='replace')[-3000:]}"
                f"{result.stderr.decode(errors='replace')[-3000:]}"
            )
        return result

    def exists(self, image: str) -> bool:
        return self.run("image", "inspect", image, check=False).returncode == 0

    def inspect(self, image: str) -> dict[str, object]:
        [details] = json.loads(self.run("image", "inspect", image).stdout)
        assert isinstance(details, dict)
        return details

    def container_state(self, container: str) -> dict[str, object]:
        [details] = json.loads(self.run("container", "inspect", container).stdout)
        state = details["State"]
        assert isinstance(state, dict)
        return state

    def size(self, image: str) -> int:
        return int(str(self.inspect(image)["Size"]))

    def build(
        self,
        *,
        containerfile: Path,
        context: Path,
        tags: Sequence[str],
        build_args: dict[str, str],
    ) -> None:
        """Build with the network of the host (the build fetches from PyPI and Debian).
        podman keeps the image in Docker's format: OCI has no HEALTHCHECK."""
        args = ["build", "--network", "host", "-f", str(containerfile)]
        if self.name == "podman":
            args += ["--format", "docker"]
        for tag in tags:
            args += ["-t", tag]
        for key, value in build_args.items():
            args += ["--build-arg", f"{key}={value}"]
        bundle = ca_bundle()
        if bundle:
            args += ["--secret", f"id=ca-certificates,src={bundle}"]
        # Streamed, not captured: a cold build takes minutes and says what it is doing.
        code = subprocess.call([self.command, *args, str(context)], env=self.environment())
        if code != 0:
            raise StackError(f"{self.name} build -f {containerfile} failed ({code})")


def find_engine() -> Engine:
    """podman if installed, else a docker whose engine answers; CONTAINER_ENGINE to choose."""
    chosen = os.environ.get("CONTAINER_ENGINE")
    candidates = [chosen] if chosen else ["podman", "docker"]
    for name in candidates:
        command = shutil.which(name)
        if command is None:
            continue
        if name == "podman":
            env = {"CONTAINERS_CONF": str(containers_conf())}
            if os.environ.get("CONTAINERS_CONF"):  # the caller's own configuration wins
                env = {}
            return Engine(command, env)
        answers = subprocess.run([command, "info"], capture_output=True, check=False, timeout=30)
        if answers.returncode == 0:
            return Engine(command)
    raise StackError(
        "no container engine: install podman (apt-get install podman buildah) or run a "
        "Docker engine; CONTAINER_ENGINE=podman|docker chooses one"
    )
