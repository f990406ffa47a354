"""OAuth2 client-credentials bearer tokens, verified against a JWKS.

Production names the identity provider's JWKS URL; development points at a local JWKS
file written by `journey token`. A token carries the client id (`sub`), the agency it
acts for (`agency_id`) and space-separated `scope`s; the agency must be in the registry.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from journey_api.agencies import Agency, AgencyRegistry
from journey_api.problems import Problem
from nrm_domain.agencies import AgencyType

ALGORITHMS = ["ES256", "RS256"]
# A verified token is trusted again without re-checking its signature until it expires, but
# for at most this long: as long as PyJWKClient trusts a fetched JWKS, so a withdrawn key
# stops working as soon as it would have without the cache.
VERIFIED_FOR_SECONDS = 300
VERIFIED_CACHE_SIZE = 10_000

# Scopes per action. A client gets the ones its agency needs; the agency's type then
# decides which records it may make (each service declares that per action).
SCOPES = {
    "referrals:read": "Read referrals, reports and decisions on journeys you take part in",
    "referrals:write": "Submit referrals, Duty to Notify reports, reconsideration requests",
    "decisions:write": "Record competent-authority decisions and police referrals",
    "detention:write": "Record immigration detention",
    "identity:read": "Read a referred person's identifying details (audited)",
    "erasure:write": "Erase a journey's identifying details",
    "support:read": "Read support cases on journeys you take part in",
    "support:write": "Record support",
    "justice:read": "Read criminal cases on journeys you take part in",
    "justice:write": "Record crimes, investigations, victim engagement, charges and trials",
    "flags:read": "Read the drop-off flags on journeys you take part in that concern your agency",
    "flags:write": "Acknowledge a drop-off flag: what your agency did about it",
    "analytics:read": "Read disclosure-controlled journey analytics (no row about one person)",
    "analytics:export": "Export the pseudonymised, record-level event log (audited)",
    "webhooks:write": "Register and manage your agency's webhooks",
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: a client acting for one agency, with some scopes."""

    client_id: str
    agency: Agency
    scopes: frozenset[str]
    token_id: str | None = None  # the token's `jti`, for reads a token may make only once
    expires_at: float = 0.0  # the token's `exp`, seconds since the epoch

    @property
    def agency_id(self) -> str:
        return self.agency.id

    @property
    def agency_type(self) -> AgencyType:
        return self.agency.type


def _unauthorised(detail: str) -> Problem:
    return Problem(401, "Unauthorised", detail, kind="unauthorised")


class TokenVerifier:
    def __init__(
        self,
        *,
        registry: AgencyRegistry,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        jwks_file: Path | None = None,
    ) -> None:
        if not (jwks_url or jwks_file):
            raise ValueError("a JWKS URL (production) or JWKS file (development) is required")
        self.registry = registry
        self.issuer = issuer
        self.audience = audience
        self._client = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        self._jwks_file = jwks_file
        self._keys: dict[str, Any] = {}
        # token -> (principal, trusted until): one signature check per token, not per request
        self._verified: dict[str, tuple[Principal, float]] = {}

    def _key_for(self, token: str) -> Any:
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        kid = jwt.get_unverified_header(token).get("kid")
        if kid not in self._keys:  # reload on an unknown kid: keys rotate
            assert self._jwks_file is not None
            jwks = jwt.PyJWKSet.from_dict(json.loads(self._jwks_file.read_text()))
            self._keys = {k.key_id: k.key for k in jwks.keys if k.key_id}
        if kid not in self._keys:
            raise jwt.InvalidTokenError("unknown signing key")
        return self._keys[kid]

    def verify(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None and time.time() < cached[1]:
            return cached[0]
        principal, expires = self._verify(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()  # crude but bounded; tokens live an hour, clients reuse them
        self._verified[token] = (principal, min(expires, time.time() + VERIFIED_FOR_SECONDS))
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token,
                self._key_for(token),
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except (jwt.PyJWTError, ValueError) as error:
            raise _unauthorised(
                f"The bearer token is not valid ({type(error).__name__})."
            ) from None
        agency = self.registry.get(str(claims.get("agency_id", "")))
        if agency is None:
            raise _unauthorised("The token's agency is not in the agency registry.")
        scopes = frozenset(str(claims.get("scope", "")).split())
        jti = claims.get("jti")
        principal = Principal(
            client_id=str(claims["sub"]),
            agency=agency,
            scopes=scopes,
            token_id=str(jti) if jti else None,
            expires_at=float(claims["exp"]),
        )
        return principal, float(claims["exp"])


_bearer = HTTPBearer(auto_error=False, description="OAuth2 client-credentials access token")


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorised("Send an OAuth2 bearer token in the Authorization header.")
    verifier: TokenVerifier = request.app.state.verifier
    principal = verifier.verify(credentials.credentials)
    request.state.principal = principal
    # Each client's requests count against its agency type's rate limit (ratelimits.py).
    request.app.state.rate_limiter.admit(principal)
    return principal


def allow(
    principal: Principal, *, scope: str, agency_types: frozenset[AgencyType], action: str
) -> None:
    """The caller needs the action's scope and an agency type that may take the action."""
    if scope not in principal.scopes:
        raise Problem(
            403, "Forbidden", f"This action needs the {scope} scope.", kind="insufficient-scope"
        )
    if principal.agency_type not in agency_types:
        raise Problem(
            403,
            "Forbidden",
            f"A {principal.agency_type.value} may not {action}.",
            kind="agency-type",
        )


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
