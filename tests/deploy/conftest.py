"""Deployment tests: container images, the compose stack, the Helm chart, a real
kube-apiserver. They need podman (or docker), built tools and minutes of building, so
they run in `make test-deploy` (which CI also runs), not in `make test`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from journey_cli.devstack import Stack
from journey_cli.devstack.gotools import built_tool
from journey_cli.devstack.kube import LocalKube
from journey_cli.images import build_all, registry_answers
from journey_cli.images.engine import Engine, find_engine
from journey_cli.images.recipes import Built
from tests.deploy.kubeapi import KubeApi


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/deploy/" in str(item.path):
            item.add_marker(pytest.mark.deploy)


@pytest.fixture(scope="session")
def say(pytestconfig: pytest.Config) -> Callable[[str], None]:
    """Print past pytest's capture: build times belong in the run's output."""
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")

    def say(line: str) -> None:
        with capture.global_and_fixture_disabled():
            print(f"\n[deploy] {line}", flush=True)

    return say


def timed_build(name: str, say: Callable[[str], None]) -> Path:
    """built_tool, with how long it took (a cached binary: milliseconds)."""
    started = time.monotonic()
    path = built_tool(name)
    say(f"{name}: {time.monotonic() - started:.1f}s to build or find ({path})")
    return path


@pytest.fixture(scope="session")
def kube(say: Callable[[str], None]) -> Iterator[LocalKube]:
    """The devstack's API server: the running one, or one started (and stopped) here."""
    local = Stack.from_environment().kube
    if local.running():
        say(f"using the running kube-apiserver at {local.url}")
        yield local
        return
    for name in ("etcd", "kube-apiserver"):
        timed_build(name, say)
    started = time.monotonic()
    local.start()
    say(f"etcd and kube-apiserver up at {local.url} in {time.monotonic() - started:.1f}s")
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="session")
def api(kube: LocalKube) -> Iterator[KubeApi]:
    client = KubeApi(kube)
    yield client
    client.close()


@pytest.fixture(scope="session")
def engine() -> Engine:
    """podman (or a docker whose engine answers), or the deploy tests cannot run."""
    return find_engine()


@pytest.fixture(scope="session")
def images(engine: Engine, say: Callable[[str], None]) -> dict[str, Built]:
    """Every image, by name: built as `make images` builds them, or found by their inputs'
    hash (seconds) when nothing they are built from has changed."""
    built = build_all(None, local_bases=not registry_answers())
    for image in built:
        how = "cached" if image.cached else f"built in {image.seconds:.0f}s"
        say(f"{image.tag}: {image.size / 1e6:.0f} MB, {how}")
    return {image.name: image for image in built}
