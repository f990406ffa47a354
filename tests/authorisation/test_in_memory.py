"""The authorisation matrix, every cell, on the three partner services in this process:
each built by its own `create_app`, on the in-memory adapters (journey_api.testing.memory),
driven through httpx.ASGITransport. No PostgreSQL, no Kafka.

Each service's events reach the services that learn from them as each request returns,
through their own `main` functions and `learn_journey`, as their consumers would learn them
from Kafka a moment later: support and prosecution learn journeys from
`nrm.identification`, and the referral service the providers named on `nrm.support`.

What the in-memory run cannot hold (transactions, row locks, sealing with the real
vault, Kafka) is in journey_api/testing/memory.py; tests/integration/test_authorisation.py
runs one cell per outcome class on the real services, so that wiring is proven too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

import httpx
import pytest
import pytest_asyncio

from journey_api.adapters.memory import MemoryRecordStore
from journey_api.learning import FactsOf, JoiningOf, learn_journey, recorder
from journey_api.testing.memory import published, run_in_memory
from journey_api.tokens import DevelopmentSigner
from prosecution.config import ProsecutionSettings
from prosecution.main import create_app as prosecution_app
from prosecution.main import journey_facts as prosecution_facts
from referral.config import ReferralSettings
from referral.main import create_app as referral_app
from referral.main import provider_facts, provider_joins
from referral.testing import MemoryVault
from support.config import SupportSettings
from support.main import create_app as support_app
from support.main import journey_facts as support_facts
from tests.authorisation.cells import *  # noqa: F403 (the matrix's tests, collected here)
from tests.authorisation.cells import CELLS, every_cell, parametrize
from tests.authorisation.scene import Api
from tests.authorisation.tables import P, R, S
from tests.authorisation.world import World, arrange
from tests.integration.services import Tokens

# What each service learns, from which topic, as its consumer does (its main.py).
LEARNERS: dict[str, tuple[str, FactsOf, JoiningOf]] = {
    S: ("nrm.identification", support_facts, recorder),
    P: ("nrm.identification", prosecution_facts, recorder),
    R: ("nrm.support", provider_facts, provider_joins),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize(metafunc, every_cell)


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Tokens:
    return Tokens(DevelopmentSigner(tmp_path_factory.mktemp("auth")))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(tokens: Tokens) -> AsyncIterator[World]:
    stores = {name: MemoryRecordStore() for name in (R, S, P)}
    jwks = tokens.signer.jwks_file
    referral = ReferralSettings(auth_jwks_file=jwks)
    support, prosecution = (
        SupportSettings(auth_jwks_file=jwks),
        ProsecutionSettings(auth_jwks_file=jwks),
    )
    apps = {
        R: run_in_memory(referral_app(referral, vault=MemoryVault(stores[R])), referral, stores[R]),
        S: run_in_memory(support_app(support), support, stores[S]),
        P: run_in_memory(prosecution_app(prosecution), prosecution, stores[P]),
    }
    contracts = apps[R].state.runtime.contracts
    told = dict.fromkeys(apps, 0)

    def tell_the_others(source: str) -> Callable[[httpx.Response], Awaitable[None]]:
        async def tell(_: httpx.Response) -> None:
            events = published(stores[source], contracts, since=told[source])
            told[source] += len(events)
            for event in events:
                topic = contracts.topic_for(event.type).name
                for service, (learns_from, facts_of, joining) in LEARNERS.items():
                    if topic == learns_from:
                        await learn_journey(stores[service], event, facts_of, joining)

        return tell

    async def take_part(service: str, journey_id: str, agencies: Iterable[str]) -> None:
        stores[service].participants.update((journey_id, agency) for agency in agencies)

    clients = {
        name: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url=f"http://{name}",
            event_hooks={"response": [tell_the_others(name)]},
        )
        for name, app in apps.items()
    }
    try:
        api = Api(clients, tokens, take_part)
        yield await arrange(api, every_cell(CELLS["test_write"]))
    finally:
        for client in clients.values():
            await client.aclose()
