"""The fault suite's session: the local stack's own Kafka and PostgreSQL (which scenarios
kill and stop), the system deployed on it once, a token signer, and the figures every
scenario prints, repeated at the end.

Run by `make test-faults` (`journey devstack run -- pytest -m faults tests/faults`).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from journey_api.tokens import DevelopmentSigner
from journey_cli.devstack import Stack
from journey_cli.system import System
from journey_platform.contracts import Contracts
from journey_platform.settings import find_schemas_dir
from tests.faults import checks
from tests.faults.harness import (
    Figures,
    Scenario,
    close_scenario,
    drop_databases,
    open_scenario,
    open_system,
    until_quiet,
)

FIGURES: list[Figures] = []
# What every process of the suite's deployment inherits: a processor that died is noticed
# and its transaction aborted in seconds rather than half a minute (the defaults suit
# production, where a restart is slower anyway). No traces: no scenario checks them
# (test_partner_journey.py, test_processor_trace.py and the devstack observability test
# do), and making and exporting spans for every write is CPU the load shares with every
# process here.
PROCESS_ENVIRONMENT = {
    "PROCESSOR_SESSION_TIMEOUT_SECONDS": "10",
    "PROCESSOR_TRANSACTION_TIMEOUT_SECONDS": "10",
    "LOG_LEVEL": "INFO",
    "OTEL_SDK_DISABLED": "true",
}


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The stack `journey devstack run` started, as servers this session may kill: that
    command names them in KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL, which would make them
    someone else's to a Stack built from the environment."""
    named = {k: os.environ.get(k) for k in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")}
    with pytest.MonkeyPatch.context() as patch:
        for name in named:
            patch.delenv(name, raising=False)
        local = Stack.from_environment()
    assert local.kafka and local.postgres, "the fault suite needs the local stack"
    if not local.kafka.running() or not local.postgres.running():
        pytest.fail("the fault suite runs on the local stack: `make test-faults`")
    assert named["KAFKA_BOOTSTRAP_SERVERS"] in (None, local.bootstrap_servers), named
    with pytest.MonkeyPatch.context() as patch:
        for name, value in PROCESS_ENVIRONMENT.items():
            patch.setenv(name, value)
        yield local


@pytest.fixture(scope="session")
def contracts() -> Contracts:
    return Contracts.load(find_schemas_dir())


@pytest.fixture(scope="session")
def signer(tmp_path_factory: pytest.TempPathFactory) -> DevelopmentSigner:
    return DevelopmentSigner(tmp_path_factory.mktemp("auth"))


@pytest.fixture(scope="session")
async def system(
    stack: Stack, contracts: Contracts, signer: DevelopmentSigner, request: pytest.FixtureRequest
) -> AsyncIterator[System]:
    """The system's long-lived processes, started once for every scenario."""
    started = await open_system(stack, contracts, signer)
    try:
        yield started
    finally:
        started.stop()
    if not request.session.testsfailed:
        await drop_databases(started)


ScenarioFactory = Callable[..., AbstractAsyncContextManager[Scenario]]


@pytest.fixture
def scenario(
    system: System, contracts: Contracts, signer: DevelopmentSigner, request: pytest.FixtureRequest
) -> ScenarioFactory:
    """`async with scenario(seed) as s:` a load on the deployment; inject a fault in the
    body. On leaving: the load's end, catching up, the processor's stop, then the checks."""

    @contextlib.asynccontextmanager
    async def run(seed: int, **options: Any) -> AsyncIterator[Scenario]:
        began = time.monotonic()
        name = request.node.name.split("[")[0].removeprefix("test_")[:20]
        opened = await open_scenario(
            name, seed, system=system, contracts=contracts, signer=signer, **options
        )
        try:
            yield opened
            await opened.load.finished()
            loaded = time.monotonic()
            await until_quiet(opened)
            quiet = time.monotonic()
        finally:
            await opened.load.stop()
            await close_scenario(opened)
        FIGURES.append(opened.figures)
        await checks.check_all(opened)
        opened.figures.seconds = time.monotonic() - began
        opened.figures.notes.append(
            f"load {loaded - began:.0f} s, caught up {quiet - loaded:.0f} s later, "
            f"checks {time.monotonic() - quiet:.0f} s"
        )
        print(f"\n{opened.figures.line()}")

    return run


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("fault scenarios")
        for figures in FIGURES:
            terminalreporter.write_line(figures.line())
