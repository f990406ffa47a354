"""`journey migrate`: where each service's database and migrations are found."""

from __future__ import annotations

import pytest

from journey_api.service import API_MIGRATIONS
from journey_cli.migrate import SERVICES, database_url, service_migrations, wait_for_servers


def test_each_service_database_is_its_own_url_or_named_after_it_on_the_shared_server() -> None:
    environ = {
        "DATABASE_URL": "postgresql://postgres@db:5432/postgres",
        "SUPPORT_DATABASE_URL": "postgresql://support@support-db:5432/support_live",
    }
    assert database_url("referral", environ) == "postgresql://postgres@db:5432/referral"
    assert database_url("support", environ) == "postgresql://support@support-db:5432/support_live"


def test_with_no_database_named_it_says_which_variables_to_set() -> None:
    with pytest.raises(ValueError, match="REFERRAL_DATABASE_URL or DATABASE_URL"):
        database_url("referral", {})


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_ships_its_migrations_in_its_package(service: str) -> None:
    folder = service_migrations(service)
    assert folder.name == "migrations" and folder.parent.name == service
    assert sorted(folder.glob("*.sql")), f"{folder} holds no SQL"


def test_the_api_migrations_are_the_ones_the_services_apply_at_start_up() -> None:
    assert service_migrations("journey_api") == API_MIGRATIONS


async def test_waiting_for_servers_that_never_answer_ends_at_its_deadline_saying_so() -> None:
    environ = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:9/postgres"}
    with pytest.raises(ValueError, match="servers not answering after 0s"):
        await wait_for_servers(["referral"], environ, within=0)
