"""The authorisation matrix as tests: every cell is its own test, one request each.

Written once, run two ways: on the in-memory apps (tests/authorisation/test_in_memory.py,
every cell) and on the real services on PostgreSQL and Kafka
(tests/integration/test_authorisation.py, a subset). Each of those modules gives a
`world` fixture (`arrange` on its services) and parametrizes the cells with
`parametrize` from its own `pytest_generate_tests`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from journey_api.auth import SCOPES
from journey_api.tokens import DEV_AUDIENCE, DEV_ISSUER, DevelopmentSigner
from tests.authorisation.scene import assert_problem
from tests.authorisation.tables import (
    ALL_TYPES,
    IECA,
    MAY_READ,
    MAY_WRITE,
    OTHER_AGENCY,
    POLICE,
    READ_SCOPE,
    SCA,
    SUCCESS,
    SUPPORT,
    WRITE_SCOPE,
    P,
    R,
    S,
    first_allowed,
    path_of,
    service_of,
)
from tests.authorisation.targets import PREPARE
from tests.authorisation.world import View, World
from tests.integration.journeys import days_ago
from tests.integration.services import BY_TYPE, Tokens

# What a test module collects with `from tests.authorisation.cells import *`.
__all__ = [
    "test_a_basic_scheme_is_401",
    "test_a_provider_not_named_on_the_case_cannot_record_on_it",
    "test_erasure_by_a_competent_authority_not_on_the_journey_is_404",
    "test_invalid_token_is_401",
    "test_no_or_garbage_token_is_401",
    "test_read",
    "test_read_without_its_scope_is_403",
    "test_the_matrix_covers_every_endpoint",
    "test_write",
    "test_write_without_its_scope_is_403",
]


async def test_the_matrix_covers_every_endpoint(world: World) -> None:
    for service in (R, S, P):
        response = await world.api.send("GET", service, "/openapi.json", headers={})
        paths: dict[str, dict[str, Any]] = response.json()["paths"]
        posts = {f"{service}:{p}" for p, ops in paths.items() if "post" in ops}
        gets = {f"{service}:{p}" for p, ops in paths.items() if "get" in ops}
        gets -= {f"{service}:/livez", f"{service}:/readyz"}
        assert posts == {k for k in MAY_WRITE if service_of(k) == service}
        assert gets == {k for k in MAY_READ if service_of(k) == service}
    assert set(PREPARE) == set(MAY_WRITE)
    assert set(WRITE_SCOPE) == set(MAY_WRITE) and set(READ_SCOPE) == set(MAY_READ)


WRITE_CELLS = [(key, t) for key in MAY_WRITE for t in sorted(ALL_TYPES)]


async def test_write(world: World, key: str, agency_type: str) -> None:
    """Allowed: recorded (the setup leaves the state allowing it). Otherwise: 403."""
    allowed = agency_type in MAY_WRITE[key]
    target = world.target(key, agency_type if allowed else "probe")
    agency = BY_TYPE[agency_type]
    if allowed and target.journey_id:
        # Adding to a journey needs taking part in it (tested on its own below); here the
        # question is only whether the agency's type may make this record.
        await world.api.take_part(service_of(key), target.journey_id, [agency])
    response = await world.api.send(
        "POST",
        service_of(key),
        target.path,
        headers=world.api.auth(agency, [WRITE_SCOPE[key]]),
        body=target.body,
    )
    if not allowed:
        assert_problem(response, 403, "agency-type")
        return
    assert response.status_code == SUCCESS.get(key, 201), response.text
    if response.status_code == 201:
        assert response.json()["recorded_by"] == agency


async def test_write_without_its_scope_is_403(world: World, key: str) -> None:
    target = world.target(key, "probe")
    response = await world.api.send(
        "POST",
        service_of(key),
        target.path,
        headers=world.api.auth(
            BY_TYPE[first_allowed(MAY_WRITE, key)], set(SCOPES) - {WRITE_SCOPE[key]}
        ),
        body=target.body,
    )
    assert_problem(response, 403, "insufficient-scope")


ROLES = ("participant", "outsider", "other agency")
READ_CELLS = [
    (key, t, role)
    for key in MAY_READ
    for t in sorted(ALL_TYPES)
    for role in ROLES
    if (role != "other agency" or t in OTHER_AGENCY)
    # The IECA takes part in every journey with a detention: it records them all; and
    # the SCA receives every Duty to Notify report for the Home Office.
    and not (role == "outsider" and t == IECA and "immigration-detentions" in key)
    and not (role == "outsider" and t == SCA and "duty-to-notify" in key)
]


def read_path(key: str, view: View) -> str:
    resource = view.resource(key)
    assert resource is not None
    resource_id, journey_id = resource
    path = path_of(key).format(resource_id=resource_id, journey_id=journey_id)
    return path if "{" in path_of(key) else f"{path}?journey_id={journey_id}"


async def test_read(world: World, key: str, agency_type: str, role: str) -> None:
    """Taking part: 200. Not taking part, of any type: 404 (a list leaves it out)."""
    if role == "other agency":  # the right type, another agency: not on the journey
        agency, view = OTHER_AGENCY[agency_type], world.view("participant")
    elif role == "outsider":
        agency = BY_TYPE[agency_type]
        view = world.view("outsider ieca" if agency_type == IECA else "outsider")
    else:
        agency, view = BY_TYPE[agency_type], world.view("participant")
    resource = view.resource(key)
    assert resource is not None
    resource_id, journey_id = resource
    response = await world.api.send(
        "GET",
        service_of(key),
        read_path(key, view),
        headers=world.api.auth(agency, [READ_SCOPE[key]]),
    )
    if agency_type not in MAY_READ[key]:
        assert_problem(response, 403, "agency-type")
        return
    takes_part = role == "participant"
    if "{" not in path_of(key):  # a list: only journeys the caller takes part in
        assert response.status_code == 200, response.text
        listed = [item["resource_id"] for item in response.json()["items"]]
        assert (resource_id in listed) if takes_part else listed == []
    elif not takes_part:
        assert_problem(response, 404, "not-found")
    else:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["journey_id"] == journey_id
        if key.endswith("/timeline"):
            assert body["records"]
        elif key.endswith("/identity"):
            assert body["referral_id"] == resource_id and body["person"]["given_name"]
        else:
            assert body["resource_id"] == resource_id


async def test_read_without_its_scope_is_403(world: World, key: str) -> None:
    view = world.view("participant")
    response = await world.api.send(
        "GET",
        service_of(key),
        read_path(key, view),
        headers=world.api.auth(
            BY_TYPE[first_allowed(MAY_READ, key)], set(SCOPES) - {READ_SCOPE[key]}
        ),
    )
    assert_problem(response, 403, "insufficient-scope")


def request_of(world: World, method: str, key: str) -> tuple[str, dict[str, Any] | None]:
    if method == "POST":
        target = world.target(key, "probe")
        return target.path, target.body
    return read_path(key, world.view("participant")), None


def assert_unauthorised(response: httpx.Response) -> None:
    assert_problem(response, 401, "unauthorised")
    assert response.headers["www-authenticate"].split()[0] == "Bearer"


ENDPOINTS = [("POST", key) for key in MAY_WRITE] + [("GET", key) for key in MAY_READ]


async def test_no_or_garbage_token_is_401(
    world: World, method: str, key: str, authorization: str | None
) -> None:
    path, body = request_of(world, method, key)
    headers = world.api.auth(BY_TYPE[POLICE])  # with an Idempotency-Key: auth must come first
    del headers["Authorization"]
    if authorization:
        headers["Authorization"] = authorization
    response = await world.api.send(method, service_of(key), path, headers=headers, body=body)
    assert_unauthorised(response)


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "sub": "test-client",
        "agency_id": BY_TYPE[POLICE],
        "scope": " ".join(sorted(SCOPES)),
        "iat": now,
        "exp": now + 600,
        **overrides,
    }


def _bad_tokens(tokens: Tokens, folder: Any) -> dict[str, str]:
    signer = tokens.signer
    police = BY_TYPE[POLICE]
    stranger = DevelopmentSigner(folder)  # a key the services have never seen
    foreign_key = stranger._key  # signs under our kid: the signature cannot verify
    return {
        "expired": signer.mint(agency_id=police, scopes=sorted(SCOPES), lifetime_seconds=-120),
        "other issuer": signer.mint(agency_id=police, scopes=sorted(SCOPES), issuer="https://x"),
        "other audience": signer.mint(agency_id=police, scopes=sorted(SCOPES), audience="other"),
        "unknown agency": signer.mint(agency_id="nowhere-constabulary", scopes=sorted(SCOPES)),
        "unknown key": stranger.mint(agency_id=police, scopes=sorted(SCOPES)),
        "forged signature": jwt.encode(
            _claims(), foreign_key, algorithm="ES256", headers={"kid": signer.kid}
        ),
        "alg none": jwt.encode(_claims(), "", algorithm="none", headers={"kid": signer.kid}),
        "no expiry": jwt.encode(
            {k: v for k, v in _claims().items() if k != "exp"},
            signer._key,
            algorithm="ES256",
            headers={"kid": signer.kid},
        ),
    }


BAD_TOKENS = [
    "expired",
    "other issuer",
    "other audience",
    "unknown agency",
    "unknown key",
    "forged signature",
    "alg none",
    "no expiry",
]
ONE_PER_SERVICE = [
    ("POST", "referral:/v1/referrals"),
    ("GET", "support:/v1/support-cases/{resource_id}"),
    ("POST", "prosecution:/v1/criminal-cases/{resource_id}/charge-decision"),
]


async def test_invalid_token_is_401(
    world: World, tmp_path: Any, method: str, key: str, token: str
) -> None:
    bad = _bad_tokens(world.api.tokens, tmp_path)[token]
    path, body = request_of(world, method, key)
    headers = {"Authorization": f"Bearer {bad}", "Idempotency-Key": "unused-0001"}
    response = await world.api.send(method, service_of(key), path, headers=headers, body=body)
    assert_unauthorised(response)


async def test_a_basic_scheme_is_401(world: World) -> None:
    headers = {"Authorization": "Basic cG9saWNlOnNlY3JldA==", "Idempotency-Key": "unused-0002"}
    response = await world.api.send("GET", R, "/v1/referrals", headers=headers)
    assert_unauthorised(response)


async def test_erasure_by_a_competent_authority_not_on_the_journey_is_404(world: World) -> None:
    """The one write gated by taking part: the SCA cannot erase an IECA journey."""
    referral = await world.scene.referral(ca="ieca")
    response = await world.api.send(
        "POST",
        R,
        f"/v1/journeys/{referral.journey_id}/erasure",
        headers=world.api.auth(BY_TYPE[SCA], ["erasure:write"]),
    )
    assert_problem(response, 404, "not-found")
    # ... and the identity is still there for the IECA, which does take part.
    response = await world.api.send(
        "GET",
        R,
        f"/v1/referrals/{referral.resource_id}/identity",
        headers=world.api.auth(BY_TYPE[IECA], ["identity:read"]),
    )
    assert response.status_code == 200, response.text


async def test_a_provider_not_named_on_the_case_cannot_record_on_it(world: World) -> None:
    case = await world.scene.support_case(BY_TYPE[SUPPORT])
    response = await world.api.send(
        "POST",
        S,
        f"/v1/support-cases/{case.resource_id}/offers",
        headers=world.api.auth(OTHER_AGENCY[SUPPORT], ["support:write"]),
        body={"occurred_at": days_ago(34), "support_route": "msvcc_adult"},
    )
    assert_problem(response, 404, "not-found")


# ---------------------------------------------------------------------------------------
# The cells of each parametrized test, and how a run chooses among them.


@dataclass(frozen=True)
class Cells:
    """A test's parameter names, its cells, and each cell's outcome class: what a cell
    shows (this endpoint refuses, this one allows; this read is shown, hidden, refused)."""

    names: tuple[str, ...]
    cells: list[tuple[Any, ...]]
    outcome: Callable[[tuple[Any, ...]], Hashable]


def _write_outcome(cell: tuple[Any, ...]) -> Hashable:
    key, agency_type = cell
    return key, agency_type in MAY_WRITE[key]


def _read_outcome(cell: tuple[Any, ...]) -> Hashable:
    key, agency_type, role = cell
    return key, "refused" if agency_type not in MAY_READ[key] else role == "participant"


CELLS = {
    "test_write": Cells(("key", "agency_type"), WRITE_CELLS, _write_outcome),
    "test_write_without_its_scope_is_403": Cells(
        ("key",), [(key,) for key in MAY_WRITE], lambda cell: service_of(cell[0])
    ),
    "test_read": Cells(("key", "agency_type", "role"), READ_CELLS, _read_outcome),
    "test_read_without_its_scope_is_403": Cells(
        ("key",), [(key,) for key in MAY_READ], lambda cell: service_of(cell[0])
    ),
    "test_no_or_garbage_token_is_401": Cells(
        ("method", "key", "authorization"),
        [(m, key, a) for m, key in ENDPOINTS for a in (None, "Bearer not-a-token")],
        lambda cell: (cell[0], service_of(cell[1]), cell[2]),
    ),
    "test_invalid_token_is_401": Cells(
        ("method", "key", "token"),
        [(m, key, token) for m, key in ONE_PER_SERVICE for token in BAD_TOKENS],
        lambda cell: cell[2],
    ),
}


def every_cell(cells: Cells) -> list[tuple[Any, ...]]:
    return cells.cells


def one_per_outcome(cells: Cells) -> list[tuple[Any, ...]]:
    """The first cell of each outcome class: for each endpoint, one agency type allowed
    and one refused, a read shown, hidden and refused; per service, a missing scope and
    each missing or garbage token; each kind of invalid token once."""
    chosen: dict[Hashable, tuple[Any, ...]] = {}
    for cell in cells.cells:
        chosen.setdefault(cells.outcome(cell), cell)
    return list(chosen.values())


Choose = Callable[[Cells], list[tuple[Any, ...]]]


def parametrize(metafunc: pytest.Metafunc, choose: Choose) -> None:
    """For a test module's `pytest_generate_tests`: the cells `choose` keeps."""
    cells = CELLS.get(metafunc.function.__name__)
    if cells is not None:
        chosen = choose(cells)
        ids = ["-".join(str(value) for value in cell) for cell in chosen]
        metafunc.parametrize(cells.names, chosen, ids=ids)
