from __future__ import annotations

import pytest

from journey_api.agencies import Agency, AgencyRegistry, RateLimit
from journey_api.auth import Principal
from journey_api.problems import Problem
from journey_api.ratelimits import RateLimiter, TokenBucket
from nrm_domain.agencies import AgencyType

LIMIT = RateLimit(per_second=2, burst=3)
POLICE = Agency("northshire-police", "Northshire Police", AgencyType.POLICE_FORCE)
SCA = Agency("sca", "Single Competent Authority", AgencyType.COMPETENT_AUTHORITY_SCA)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_lets_a_burst_through_then_says_how_long_to_wait() -> None:
    bucket = TokenBucket.full(LIMIT, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5)  # one token at 2 per second


def test_the_bucket_refills_at_its_rate_and_never_beyond_its_burst() -> None:
    bucket = TokenBucket.full(LIMIT, now=0.0)
    for _ in range(3):
        bucket.take(0.0)
    assert bucket.take(0.25) == pytest.approx(0.25)  # half a token back: half to go
    assert bucket.take(0.5) == 0.0
    assert [bucket.take(100.0) for _ in range(4)][-1] > 0  # a long rest refills 3, not 200


def test_a_clock_that_steps_back_refills_nothing() -> None:
    bucket = TokenBucket.full(RateLimit(per_second=1, burst=1), now=10.0)
    assert bucket.take(10.0) == 0.0
    assert bucket.take(5.0) == pytest.approx(1.0)


def _principal(agency: Agency, client: str = "client-a") -> Principal:
    return Principal(client_id=client, agency=agency, scopes=frozenset())


def test_the_limiter_refuses_with_a_429_naming_the_limit_and_when_to_retry() -> None:
    clock = FakeClock()
    limiter = RateLimiter(AgencyRegistry([POLICE], {None: LIMIT}), clock)
    for _ in range(3):
        limiter.admit(_principal(POLICE))
    with pytest.raises(Problem) as refused:
        limiter.admit(_principal(POLICE))
    problem = refused.value
    assert (problem.status, problem.kind) == (429, "rate-limited")
    assert problem.headers == {"Retry-After": "1"}  # 0.5 s, rounded up to whole seconds
    assert "2 requests per second" in problem.detail and "bursts of up to 3" in problem.detail
    assert problem.audit_as == "rate_limited"
    clock.now += 0.5
    limiter.admit(_principal(POLICE))  # waited as told: let through


def test_only_the_first_refusal_of_a_run_is_audited() -> None:
    clock = FakeClock()
    limiter = RateLimiter(AgencyRegistry([POLICE], {None: RateLimit(1, 1)}), clock)
    limiter.admit(_principal(POLICE))
    audited = []
    for _ in range(3):
        with pytest.raises(Problem) as refused:
            limiter.admit(_principal(POLICE))
        audited.append(refused.value.audit_as)
    assert audited == ["rate_limited", None, None]
    clock.now += 1
    limiter.admit(_principal(POLICE))
    with pytest.raises(Problem) as again:
        limiter.admit(_principal(POLICE))
    assert again.value.audit_as == "rate_limited"  # a new run of refusals


def test_each_client_has_its_own_bucket_at_its_agency_types_limit() -> None:
    registry = AgencyRegistry(
        [POLICE, SCA], {None: RateLimit(1, 1), AgencyType.COMPETENT_AUTHORITY_SCA: RateLimit(1, 5)}
    )
    limiter = RateLimiter(registry, FakeClock())
    limiter.admit(_principal(POLICE, "police-a"))
    limiter.admit(_principal(POLICE, "police-b"))  # another client of the same agency
    with pytest.raises(Problem):
        limiter.admit(_principal(POLICE, "police-a"))
    for _ in range(5):
        limiter.admit(_principal(SCA, "sca-a"))


def test_the_development_registry_declares_limits_far_above_make_run() -> None:
    from journey_platform.settings import find_schemas_dir

    path = find_schemas_dir().parent / "deploy" / "local" / "agencies.yaml"
    limit = AgencyRegistry.load(path).rate_limit(AgencyType.COMPETENT_AUTHORITY_SCA)
    assert limit.per_second >= 1000  # `make run`: 150-200 requests/s across all agencies


def test_a_registry_without_limits_gets_the_production_defaults() -> None:
    registry = AgencyRegistry([POLICE])
    assert registry.rate_limit(AgencyType.POLICE_FORCE) == RateLimit(10, 50)
    assert registry.rate_limit(AgencyType.COMPETENT_AUTHORITY_SCA) == RateLimit(25, 100)


def test_declared_limits_must_name_a_default() -> None:
    with pytest.raises(ValueError, match="default"):
        AgencyRegistry([POLICE], {AgencyType.POLICE_FORCE: LIMIT})


@pytest.mark.parametrize(("per_second", "burst"), [(0, 10), (-1, 10), (5, 0)])
def test_a_limit_that_would_refuse_everything_or_divide_by_zero_is_refused(
    per_second: float, burst: int
) -> None:
    with pytest.raises(ValueError, match="per_second > 0 and burst >= 1"):
        RateLimit(per_second, burst)
