"""`journey testcontainers -- COMMAND`: COMMAND with a Docker API for testcontainers, and
the images `journey images` built (`make test-containers`).

The API is the engine's that built the images (engine.find_engine): Docker's own, as the
caller's environment already names it; or podman's, `podman system service` on a private
socket (never the machine's /run/podman), started for COMMAND and stopped after it, with
the runc runtime and rlimits of deploy/images/containers.conf. KAFKA_BOOTSTRAP_SERVERS and
DATABASE_URL are unset, so the integration fixtures start their own servers in containers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

from journey_cli.devstack.processes import StackError, wait_until
from journey_cli.images import read_env_file
from journey_cli.images.engine import Engine, find_engine

SERVERS = ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")
# Ryuk, testcontainers' reaper, is a container that needs its image from Docker Hub and the
# engine's socket mounted inside it: neither is there for a private podman socket on a
# machine without a registry. Each container is removed when its fixture ends; those of a
# COMMAND killed first carry this label, with the run's id, and are removed after it.
PODMAN_DEFAULTS = {"TESTCONTAINERS_RYUK_DISABLED": "true"}
RUN_LABEL = "io.victim-journey.testcontainers-run"
RUN_VARIABLE = "JOURNEY_TESTCONTAINERS_RUN"


def answers(socket_path: Path) -> bool:
    """Whether a Docker API answers `GET /_ping` on the unix socket."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(2)
        try:
            sock.connect(str(socket_path))
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: engine\r\n\r\n")
            return b" 200 " in sock.recv(64)
        except OSError:
            return False


@contextlib.contextmanager
def podman_service(engine: Engine, *, within: float = 60) -> Iterator[Path]:
    """`podman system service` on a socket of its own, until the block ends; yields the socket."""
    folder = Path(tempfile.mkdtemp(prefix="journey-podman-"))
    socket_path, log_path = folder / "podman.sock", folder / "service.log"
    with log_path.open("wb") as log:
        service = subprocess.Popen(
            [engine.command, "system", "service", "--time=0", f"unix://{socket_path}"],
            env=engine.environment(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C meant for COMMAND does not stop it first
        )
    try:
        wait_until(
            lambda: answers(socket_path) or service.poll() is not None,
            timeout=within,
            what="podman system service",
            log_file=log_path,
        )
        if service.poll() is not None:
            raise StackError(
                f"podman system service exited ({service.returncode}):\n"
                f"{log_path.read_text()[-2000:]}"
            )
        yield socket_path
    finally:
        service.terminate()
        try:
            service.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
        shutil.rmtree(folder, ignore_errors=True)


def environment(
    caller: Mapping[str, str], images: Mapping[str, str], api: Mapping[str, str]
) -> dict[str, str]:
    """COMMAND's environment: the images built (the caller's choice wins), no servers, the API."""
    kept = {name: value for name, value in caller.items() if name not in SERVERS}
    return {**images, **kept, **api}


def run(command: list[str]) -> int:
    engine = find_engine()
    images = read_env_file()
    if engine.name != "podman":
        return subprocess.call(command, env=environment(os.environ, images, {}))
    run_id = uuid.uuid4().hex
    with podman_service(engine) as socket_path:
        caller = {**PODMAN_DEFAULTS, **os.environ}
        api = {"DOCKER_HOST": f"unix://{socket_path}", RUN_VARIABLE: run_id}
        try:
            return subprocess.call(command, env=environment(caller, images, api))
        finally:
            remove_left_over(engine, run_id)


def remove_left_over(engine: Engine, run_id: str) -> None:
    """The containers of this run that its fixtures did not remove (COMMAND was killed)."""
    listed = engine.run("ps", "-aq", "--filter", f"label={RUN_LABEL}={run_id}", check=False)
    left = listed.stdout.decode().split()
    if left:
        print(f"removing {len(left)} container(s) left by the run", flush=True)
        engine.run("rm", "-f", "-v", *left, check=False)
