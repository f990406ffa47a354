"""The registry of partner agencies and their types.

An agency's type fixes what it may record (each service declares which types may take
each action); its id is what audit rows, participants and `recordedby` name. The registry
is configuration: a YAML file per deployment (`deploy/local/agencies.yaml` for development).
It also holds how fast each type of agency's clients may call the APIs (`rate_limits`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from nrm_domain.agencies import AgencyType


@dataclass(frozen=True)
class RateLimit:
    """A client's token bucket: `per_second` sustained requests, `burst` at once."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError(f"a rate limit needs per_second > 0 and burst >= 1, not {self}")


# The limits of a registry that declares no `rate_limits` of its own: a partner's case-work
# system, not a bulk loader. The competent authorities decide on every referral, and the
# analysts' dashboard sends its queries together.
RATE_LIMITS: dict[AgencyType | None, RateLimit] = {
    None: RateLimit(per_second=10, burst=50),  # every type not named below
    AgencyType.COMPETENT_AUTHORITY_SCA: RateLimit(per_second=25, burst=100),
    AgencyType.COMPETENT_AUTHORITY_IECA: RateLimit(per_second=25, burst=100),
    AgencyType.ANALYST: RateLimit(per_second=5, burst=20),
}


@dataclass(frozen=True)
class Agency:
    id: str
    name: str
    type: AgencyType


class AgencyRegistry:
    def __init__(
        self,
        agencies: list[Agency],
        rate_limits: Mapping[AgencyType | None, RateLimit] | None = None,
    ) -> None:
        self._by_id = {a.id: a for a in agencies}
        self._rate_limits = dict(rate_limits or RATE_LIMITS)
        if None not in self._rate_limits:
            raise ValueError("rate_limits must name a default, for the types it does not list")

    @classmethod
    def load(cls, path: Path) -> AgencyRegistry:
        """`rate_limits` in the file, if any, maps agency types and `default` to limits."""
        document = yaml.safe_load(path.read_text())
        return cls(
            [
                Agency(id=a["id"], name=a["name"], type=AgencyType(a["type"]))
                for a in document["agencies"]
            ],
            {
                None if name == "default" else AgencyType(name): RateLimit(
                    per_second=float(limit["per_second"]), burst=int(limit["burst"])
                )
                for name, limit in (document.get("rate_limits") or {}).items()
            },
        )

    def rate_limit(self, agency_type: AgencyType) -> RateLimit:
        """The limit on each client of an agency of this type."""
        return self._rate_limits.get(agency_type, self._rate_limits[None])

    def get(self, agency_id: str) -> Agency | None:
        return self._by_id.get(agency_id)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_id.values())
