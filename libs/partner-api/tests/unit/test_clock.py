"""The recording clock: the wall clock, unless a simulation deployment takes the header."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from starlette.requests import Request

from journey_api.clock import SIMULATED_TIME_HEADER, recorded_time
from journey_api.problems import Problem


def request(header: str | None, *, accepted: bool) -> Request:
    settings = SimpleNamespace(accept_simulated_time=accepted)
    app = SimpleNamespace(state=SimpleNamespace(runtime=SimpleNamespace(settings=settings)))
    headers = [] if header is None else [(SIMULATED_TIME_HEADER.lower().encode(), header.encode())]
    return Request({"type": "http", "headers": headers, "app": app})


def test_without_the_header_it_is_the_wall_clock() -> None:
    before = datetime.now(UTC)
    assert before <= recorded_time(request(None, accepted=True)) <= datetime.now(UTC)


def test_a_simulation_deployment_records_at_the_simulated_time() -> None:
    moment = recorded_time(request("2024-03-01T09:30:00+01:00", accepted=True))
    assert moment == datetime(2024, 3, 1, 8, 30, tzinfo=UTC)


def test_other_deployments_refuse_the_header_rather_than_ignore_it() -> None:
    with pytest.raises(Problem) as refused:
        recorded_time(request("2024-03-01T09:30:00Z", accepted=False))
    assert refused.value.status == 400 and refused.value.kind == "simulated-time-refused"


@pytest.mark.parametrize(
    "header",
    [
        "yesterday",
        "2024-03-01T09:30:00",
        (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        "2009-03-31T23:59:00Z",  # before the NRM began
    ],
    # Named, not by value: tomorrow's timestamp would give this case a new id every run.
    ids=["not-a-time", "no-offset", "tomorrow", "before-the-nrm"],
)
def test_a_bad_future_or_pre_nrm_simulated_time_is_a_clear_400(header: str) -> None:
    with pytest.raises(Problem) as refused:
        recorded_time(request(header, accepted=True))
    assert refused.value.status == 400 and refused.value.kind == "invalid-simulated-time"
