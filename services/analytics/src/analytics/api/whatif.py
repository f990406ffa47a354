"""`POST /v1/whatif`: the rules replayed over history under other thresholds (the same
run as `journey whatif`, analytics.adapters.whatif_history.evaluate), and
`GET /v1/whatif/rules`: the thresholds a what-if can change, as deployed.

A POST because the overrides are a body; it changes nothing but the audit log, so it takes
no Idempotency-Key. The overrides are audited with the request (rule ids and durations
only).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, Request

from analytics.adapters.whatif_history import Overrides, book, evaluate, structural
from analytics.api.deps import Analyst, Control, CurrentPeriod
from analytics.api.models import WhatIf, WhatIfRequest, WhatIfThreshold
from analytics.domain.whatif import answer
from journey_api.audit import audit
from journey_api.problems import PROBLEM, READ_ERRORS, Problem
from journey_api.runtime import CurrentRuntime
from journey_platform.contracts import Contracts
from journey_processor.core.rules.catalogue import CatalogueError, Rule, load


@dataclass(frozen=True)
class WhatIfSetup:
    """Where the history is and what the deployment runs (set on the app by analytics.main)."""

    bootstrap: str
    contracts: Contracts
    deployed: Overrides  # the processor's PROCESSOR_RULE_OVERRIDES, if any

    def expectations(self) -> list[Rule]:
        """The rules a what-if can change (an immediate rule has no deadline)."""
        rules = load(self.contracts, overrides=self.deployed).values()
        return [rule for rule in rules if rule.kind == "expectation"]


def whatif_setup(request: Request) -> WhatIfSetup:
    setup: WhatIfSetup = request.app.state.whatif
    return setup


Setup = Annotated[WhatIfSetup, Depends(whatif_setup)]
router = APIRouter(prefix="/v1/whatif", tags=["analytics"], responses=READ_ERRORS)


def deadline(rule: Rule) -> dict[str, int]:
    """A rule's deadline as the catalogue writes it: {"working_days": 5}."""
    within = asdict(rule.within) if rule.within else {}
    return {unit: amount for unit, amount in within.items() if amount}


@router.get("/rules", response_model=list[WhatIfThreshold])
async def get_whatif_rules(_: Analyst, setup: Setup) -> Any:
    """The rules whose deadline a what-if can change, with the deadline deployed."""
    return [
        {"rule_id": r.id, "title": r.title, "stage": str(r.stage), "deployed": deadline(r)}
        for r in setup.expectations()
    ]


@router.post(
    "",
    response_model=WhatIf,
    responses={503: {"description": "The event history cannot be read now", **PROBLEM}},
)
async def post_whatif(
    principal: Analyst,
    runtime: CurrentRuntime,
    control: Control,
    setup: Setup,
    when: CurrentPeriod,
    body: WhatIfRequest,
) -> Any:
    """The journeys referred in the period, their history replayed through the processor's
    core under these deadlines: per rule, the flags added, removed, due earlier or later."""
    overrides = {r: w.model_dump(exclude_none=True) for r, w in body.overrides.items()}
    try:
        chosen = book(setup.contracts, setup.deployed, overrides)
    except CatalogueError as error:
        allowed = {r.id: deadline(r) for r in setup.expectations()}
        raise Problem(
            422,
            "Invalid request",
            f"{error}. Overrides are allowed for: {', '.join(allowed)} (each a positive "
            "number of hours, days or working_days).",
            kind="bad-override",
            allowed=allowed,
        ) from None
    async with runtime.pool.acquire() as conn:
        await audit(
            conn,
            principal,
            action="whatif",
            journey_id=None,
            resource_id=json.dumps(overrides, sort_keys=True)[:500],
        )
    try:
        rules, timing = await evaluate(
            bootstrap=setup.bootstrap,
            contracts=setup.contracts,
            chosen=chosen,
            period=when,
            until=body.until,
        )
    except (KafkaError, OSError):
        raise Problem(
            503,
            "Service unavailable",
            "The event history cannot be read from Kafka now; try again shortly.",
            kind="history-unavailable",
        ) from None
    seconds = {k: round(timing[k], 3) for k in ("read_seconds", "replay_seconds")}
    zeros = structural(setup.contracts, setup.deployed, overrides)
    result = answer(rules, threshold=control.threshold, structural=zeros)
    return {**result, "period": when.json(), "overrides": overrides, "timing": seconds}
