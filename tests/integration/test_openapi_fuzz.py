"""Fuzz each partner API from its own OpenAPI document with Schemathesis.

Schemathesis (its CLI, in subprocesses, so the services keep answering in this event
loop) sends the documented examples, boundary and malformed inputs (non-UUID path
parameters, odd headers, out-of-range numbers, bodies that are not JSON), random valid
ones, and chains of calls along the links it infers, as an agency that may write most of
the service's endpoints. Every response must be what the document says: no 5xx, a
documented status code and content type, a body matching its schema (problem+json
included), and a 405 with a true Allow for undocumented methods.

Random ids only ever find nothing (404), so one journey is seeded first, with a referral,
a detention, a support case and a criminal case on it, and a drop-off flag the flags
service shows the fuzzing council; half the generated ids are swapped for those (a
Schemathesis fuzz dictionary), and the domain rules get exercised.

Reproducible: derandomised generation (the same cases every run, no example database)
and a bounded number of examples per operation. Two runs at a time: while one
Schemathesis process generates, the services answer the other.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from journey_platform.contracts import Contracts
from tests.integration.analytics_events import publish
from tests.integration.events import example_event
from tests.integration.journeys import Partner, days_ago, referral_body, synthetic_person
from tests.integration.services import BY_TYPE, RunningService, Tokens

pytestmark = pytest.mark.integration

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CHECKS = (
    "not_a_server_error",  # no 5xx
    "status_code_conformance",  # every status documented for the operation
    "content_type_conformance",  # and its content type
    "response_schema_conformance",  # bodies match their schemas, problem+json ones too
    "unsupported_method",  # an undocumented method gets a 405...
    "allow_header_conformance",  # ...whose Allow lists the methods the path serves
)
MAX_EXAMPLES = 10  # per operation and phase; the coverage phase adds its boundary cases
KNOWN_ID_SHARE = 0.5  # of generated ids replaced by seeded ones
CONCURRENT_RUNS = 2
RUN_TIMEOUT_SECONDS = 900  # a deadline against a hung run: 240 s killed one at a load of 20

# Referral writes split between first responders (submit, Duty to Notify,
# reconsideration requests) and the competent authorities (decisions, detention,
# erasure): the IECA fuzzes all but the first responders' writes, a police force those.
FIRST_RESPONDER_WRITES = ("submit_referral", "duty_to_notify_report", "reconsideration_request")


@dataclass(frozen=True)
class Run:
    service: str
    agency_type: str
    only: tuple[str, ...] = ()  # operation ids; all when empty
    skip: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.service} as {self.agency_type}"


RUNS = [  # longest first, so the two lanes finish together
    Run("referral", "competent_authority_ieca", skip=FIRST_RESPONDER_WRITES),
    Run("support", "local_authority"),  # a first responder and a provider: every write
    Run("prosecution", "police_force"),  # all but the CPS's charge and trial records
    Run("referral", "police_force", only=FIRST_RESPONDER_WRITES),
    Run("flags", "local_authority"),  # provider of the seeded support case: sees its flag
]
# The path parameter that names a seeded resource, where it is not `resource_id`.
ID_PARAMETER = {"flags": "flag_id"}


@dataclass(frozen=True)
class Seeded:
    journey_id: str
    resources: dict[str, list[str]]  # by service


async def seed(
    services: dict[str, RunningService],
    tokens: Tokens,
    producer: AIOKafkaProducer,
    contracts: Contracts,
) -> Seeded:
    """A journey each fuzzing agency takes part in, with a resource in every service."""
    referral, support, justice = (services[n] for n in ("referral", "support", "prosecution"))
    async with httpx.AsyncClient(timeout=30) as client:
        police = Partner(client, referral, tokens, "police_force")
        ieca = Partner(client, referral, tokens, "competent_authority_ieca")
        submitted = await police.post(
            "/v1/referrals", referral_body(synthetic_person(), competent_authority="ieca")
        )
        journey = submitted["journey_id"]
        detention = await ieca.post(
            "/v1/immigration-detentions",
            {"occurred_at": days_ago(39), "journey_id": journey, "reason": "pending_removal"},
        )
        council = Partner(client, support, tokens, "local_authority")
        case = await council.post_when_known(
            "/v1/support-cases",
            {
                "occurred_at": days_ago(30),
                "journey_id": journey,
                "support_route": "msvcc_adult",
                "provider_agency_id": BY_TYPE["local_authority"],
            },
        )
        case_path = f"/v1/support-cases/{case['resource_id']}"
        await council.post(
            f"{case_path}/offers", {"occurred_at": days_ago(29), "support_route": "msvcc_adult"}
        )
        await council.post(f"{case_path}/acceptance", {"occurred_at": days_ago(28)})
        crime = await Partner(client, justice, tokens, "police_force").post_when_known(
            "/v1/criminal-cases",
            {
                "occurred_at": days_ago(20),
                "journey_id": journey,
                "offence": "modern_slavery_act_s2_human_trafficking",
                "police_force_region": "london",
            },
        )
        flag = await seed_flag(client, services["flags"], tokens, producer, contracts, journey)
    return Seeded(
        journey,
        {
            "referral": [submitted["resource_id"], detention["resource_id"]],
            "support": [case["resource_id"]],
            "prosecution": [crime["resource_id"]],
            "flags": [flag],
        },
    )


async def seed_flag(
    client: httpx.AsyncClient,
    flags: RunningService,
    tokens: Tokens,
    producer: AIOKafkaProducer,
    contracts: Contracts,
    journey: str,
) -> str:
    """A missing-episode flag on the journey, as the processor raises it, once the flags
    service shows it to the council (which learned it takes part from the support case)."""
    flag_id = str(uuid.uuid4())
    raised = example_event(
        contracts,
        "uk.nrm.dropoff.raised",
        journey_id=journey,
        flag_id=flag_id,
        rule_id="missing-episode",
        stage="support",
        severity="critical",
        sequence=0,
    )
    await publish(producer, contracts, [raised])
    headers = tokens.headers(BY_TYPE["local_authority"])
    deadline = time.monotonic() + 60
    while (await client.get(f"{flags.url}/v1/flags/{flag_id}", headers=headers)).status_code != 200:
        assert time.monotonic() < deadline, "the seeded flag never reached the flags service"
        await asyncio.sleep(0.2)
    return flag_id


def config(resources: Sequence[str], journey_id: str, id_parameter: str = "resource_id") -> str:
    """schemathesis.toml: swap a share of generated ids for the seeded ones."""
    known = f"probability = {KNOWN_ID_SHARE}"
    return f"""
[dictionaries.resources]
values = {json.dumps(list(resources))}

[dictionaries.journeys]
values = {json.dumps([journey_id])}

[parameters]
"path.{id_parameter}" = {{ dictionary = "resources", {known} }}
"path.journey_id" = {{ dictionary = "journeys", {known} }}
"body.journey_id" = {{ dictionary = "journeys", {known} }}
"""


def schemathesis_command(
    run: Run, service: RunningService, token: str, config_file: Path
) -> list[str]:
    return [
        str(SCHEMATHESIS),
        "--config-file",
        str(config_file),
        "run",
        f"{service.url}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--header",
        f"Authorization: Bearer {token}",  # the report shows it as [Filtered]
        "--max-examples",
        str(MAX_EXAMPLES),
        "--generation-deterministic",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--continue-on-failure",  # every failing case of an operation, not just its first
        "--request-timeout",
        "30",
        "--no-color",
        *(arg for op in run.only for arg in ("--include-operation-id", op)),
        *(arg for op in run.skip for arg in ("--exclude-operation-id", op)),
    ]


async def schemathesis(command: list[str], folder: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=folder,  # any file Schemathesis writes stays out of the repository
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        output, _ = await process.communicate()
        return -1, f"(killed after {RUN_TIMEOUT_SECONDS} s)\n{output.decode(errors='replace')}"
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


async def test_every_api_answers_only_what_its_openapi_document_says(
    partner_services: dict[str, RunningService],
    flags_service: RunningService,
    tokens: Tokens,
    producer: AIOKafkaProducer,
    contracts: Contracts,
    tmp_path: Path,
) -> None:
    services = {**partner_services, "flags": flags_service}
    seeded = await seed(services, tokens, producer, contracts)
    lanes = asyncio.Semaphore(CONCURRENT_RUNS)

    async def fuzz(number: int, run: Run) -> tuple[Run, int, str]:
        token = tokens.headers(BY_TYPE[run.agency_type])["Authorization"].removeprefix("Bearer ")
        config_file = tmp_path / f"schemathesis-{number}.toml"
        config_file.write_text(
            config(
                seeded.resources[run.service],
                seeded.journey_id,
                ID_PARAMETER.get(run.service, "resource_id"),
            )
        )
        command = schemathesis_command(run, services[run.service], token, config_file)
        async with lanes:
            started = time.monotonic()
            code, report = await schemathesis(command, tmp_path)
        # A failing report goes into the assertion below; a passing one (its warnings say
        # what the run could not reach) is shown here, with -s.
        print(f"--- {run}: exit {code} in {time.monotonic() - started:.0f} s")
        if code == 0:
            print(report)
        return run, code, report

    results = await asyncio.gather(*(fuzz(n, run) for n, run in enumerate(RUNS)))
    failed = [(run, code, report) for run, code, report in results if code != 0]
    assert not failed, "Schemathesis found responses the OpenAPI documents do not allow:\n" + (
        "\n".join(f"=== {run} (exit {code})\n{report}" for run, code, report in failed)
    )
