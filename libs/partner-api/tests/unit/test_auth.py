from __future__ import annotations

from pathlib import Path

import jwt
import pytest

from journey_api.agencies import AgencyRegistry
from journey_api.auth import TokenVerifier
from journey_api.problems import Problem
from journey_api.tokens import DEV_AUDIENCE, DEV_ISSUER, DevelopmentSigner
from journey_platform.settings import find_schemas_dir
from nrm_domain.agencies import AgencyType

REGISTRY = AgencyRegistry.load(find_schemas_dir().parent / "deploy" / "local" / "agencies.yaml")


@pytest.fixture
def signer(tmp_path: Path) -> DevelopmentSigner:
    return DevelopmentSigner(tmp_path)


def _verifier(signer: DevelopmentSigner) -> TokenVerifier:
    return TokenVerifier(
        registry=REGISTRY, issuer=DEV_ISSUER, audience=DEV_AUDIENCE, jwks_file=signer.jwks_file
    )


def test_a_minted_token_names_the_agency_its_type_and_scopes(signer: DevelopmentSigner) -> None:
    token = signer.mint(agency_id="sca", scopes=["decisions:write", "referrals:read"])
    principal = _verifier(signer).verify(token)
    assert principal.agency_id == "sca"
    assert principal.agency_type is AgencyType.COMPETENT_AUTHORITY_SCA
    assert principal.scopes == {"decisions:write", "referrals:read"}


@pytest.mark.parametrize(
    "mint",
    [
        lambda s: s.mint(agency_id="sca", scopes=[], lifetime_seconds=-60),  # expired
        lambda s: s.mint(agency_id="sca", scopes=[], audience="someone-else"),
        lambda s: s.mint(agency_id="sca", scopes=[], issuer="https://evil.example"),
        lambda s: s.mint(agency_id="not-registered", scopes=[]),
        lambda s: s.mint(agency_id="sca", scopes=[])[:-4] + "AAAA",  # tampered signature
        lambda s: jwt.encode(
            {"sub": "x", "agency_id": "sca"},
            "a-symmetric-secret-of-enough-length!",
            algorithm="HS256",
        ),
    ],
    ids=["expired", "audience", "issuer", "unknown agency", "tampered", "symmetric"],
)
def test_bad_tokens_are_401(signer: DevelopmentSigner, mint) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Problem) as refused:
        _verifier(signer).verify(mint(signer))
    assert refused.value.status == 401


def test_a_token_from_another_key_is_refused(signer: DevelopmentSigner, tmp_path: Path) -> None:
    stranger = DevelopmentSigner(tmp_path / "stranger")
    with pytest.raises(Problem):
        _verifier(signer).verify(stranger.mint(agency_id="sca", scopes=[]))
