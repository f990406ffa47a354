"""The agencies' desks: each simulated agency's webhook endpoint, and the caseworker who
acts on the flags it is told about.

`journey run` starts one desk process beside the system. It subscribes every partner
agency of the registry to `flag.raised` and `flag.resolved` on the flags service, each at
its own path on one local HTTP server, and verifies every delivery's Standard Webhooks
signature with that subscription's secret (a delivery that does not verify is refused
with 400, as a real receiver would). A redelivery (same webhook-id) is counted once.

For a raised flag, the agency acknowledges it as its calibrated habit says: with some
probability, after a delay drawn from a log-normal around its median, recorded at the
simulated time the flag was raised plus that delay (the flags service takes the recorded
time from the `Simulated-Time` header in a simulation, as the partner APIs do). The acknowledgement
carries a coded action and never a note: generated people have nothing to say.

What the desk saw is written to a JSON summary once it has subscribed, every two seconds
after, and at exit.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from journey_api.agencies import AgencyRegistry
from journey_simulator.calibration import AcknowledgementHabit, load
from journey_simulator.partners import SIMULATED_TIME_HEADER
from nrm_domain.agencies import AgencyType

KEYS = uuid.UUID("0c5a8a3e-2d0e-4f5e-9a3b-7e1f6c2b9d41")  # namespace of Idempotency-Keys
EVENT_TYPES = ["flag.raised", "flag.resolved"]


@dataclass
class Told:
    """One agency's view: the flags it was told about, and what it did."""

    agency_type: str
    secret: str = ""
    seen: set[str] = field(default_factory=set)  # webhook-ids, for de-duplication
    raised: set[str] = field(default_factory=set)  # flag ids
    resolved: set[str] = field(default_factory=set)
    acknowledged: int = 0
    # Acknowledgements refused as too late: the flag was retracted meanwhile (the
    # processor took it back when earlier evidence arrived late).
    retracted_first: int = 0
    failed: int = 0  # acknowledgements that got no answer or an unexpected one
    refused: int = 0  # deliveries whose signature did not verify


class Desk:
    def __init__(
        self,
        *,
        flags_url: str,
        registry: AgencyRegistry,
        token_for: Any,
        public_url: str,
        summary: Path,
        seed: int = 1,
    ) -> None:
        self.flags_url = flags_url.rstrip("/")
        self.public_url = public_url.rstrip("/")
        self.token_for = token_for
        self.summary = summary
        self.random = random.Random(seed)  # noqa: S311 - simulated habits, not secrets
        self.habits = load().acknowledgement_habits
        self.agencies = {
            a.id: Told(a.type.value) for a in registry if a.type is not AgencyType.ANALYST
        }
        self.client = httpx.AsyncClient(timeout=30)
        self.pending: set[asyncio.Task[None]] = set()
        self.app = Starlette(routes=[Route("/hooks/{agency_id}", self.receive, methods=["POST"])])

    async def subscribe(self) -> None:
        """Register each agency's endpoint; the secret comes back once, with the subscription."""
        for agency_id, told in self.agencies.items():
            response = await self.client.post(
                f"{self.flags_url}/v1/webhooks",
                headers={
                    "Authorization": f"Bearer {self.token_for(agency_id)}",
                    # A new key per desk: each run subscribes afresh (the secret is shown once).
                    "Idempotency-Key": str(uuid.uuid4()),
                },
                json={"url": f"{self.public_url}/hooks/{agency_id}", "event_types": EVENT_TYPES},
            )
            response.raise_for_status()
            told.secret = response.json()["secret"]

    async def receive(self, request: Request) -> Response:
        told = self.agencies.get(request.path_params["agency_id"])
        if told is None:
            return Response(status_code=404)
        body = await request.body()
        try:
            message = Webhook(told.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            told.refused += 1
            return Response(status_code=400)
        webhook_id = request.headers["webhook-id"]
        if webhook_id not in told.seen:
            told.seen.add(webhook_id)
            self._note(request.path_params["agency_id"], told, message)
        return Response(status_code=204)

    def _note(self, agency_id: str, told: Told, message: dict[str, Any]) -> None:
        data = message["data"]
        if message["type"] == "flag.resolved":
            told.resolved.add(data["flag_id"])
            return
        told.raised.add(data["flag_id"])
        habit = self.habits.get(told.agency_type)
        if habit is None or self.random.random() >= habit.share:
            return
        task = asyncio.create_task(self._acknowledge(agency_id, told, data, habit))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _acknowledge(
        self, agency_id: str, told: Told, data: dict[str, Any], habit: AcknowledgementHabit
    ) -> None:
        delay = timedelta(hours=habit.delay_hours(self.random))
        # From when the flag was recorded, not from when it became due: a flag raised on
        # evidence recorded late is due before anyone could have known of it.
        at = datetime.fromisoformat(data["recorded_at"]) + delay
        flag_id = data["flag_id"]
        try:
            response = await self.client.post(
                f"{self.flags_url}/v1/flags/{flag_id}/acknowledgements",
                headers={
                    "Authorization": f"Bearer {self.token_for(agency_id)}",
                    # One per raise: a flag retracted and raised again is a new raise.
                    "Idempotency-Key": str(uuid.uuid5(KEYS, f"{agency_id}/{flag_id}/{at}")),
                    SIMULATED_TIME_HEADER: at.isoformat(),
                },
                json={"action": habit.action},
            )
        except httpx.HTTPError:
            told.failed += 1
            return
        if response.status_code < 300:
            told.acknowledged += 1
        elif response.status_code == 409:
            told.retracted_first += 1
        else:
            told.failed += 1

    def write_summary(self) -> dict[str, Any]:
        by_type: dict[str, Counter[str]] = {}
        for told in self.agencies.values():
            counts = by_type.setdefault(told.agency_type, Counter())
            counts.update(
                told_raised=len(told.raised),
                told_resolved=len(told.resolved),
                acknowledged=told.acknowledged,
                retracted_first=told.retracted_first,
                failed=told.failed,
                refused=told.refused,
            )
        document = {kind: dict(counts) for kind, counts in sorted(by_type.items())}
        self.summary.parent.mkdir(parents=True, exist_ok=True)
        self.summary.write_text(json.dumps(document, indent=2))
        return document

    async def close(self) -> None:
        if self.pending:
            await asyncio.gather(*self.pending, return_exceptions=True)
        self.write_summary()
        await self.client.aclose()


async def serve(desk: Desk, *, port: int, within: float = 30) -> None:
    """Serve the agencies' endpoints until SIGTERM/SIGINT; subscribe once listening. The
    summary file appears once every agency has subscribed (what `journey run` waits for),
    then is rewritten every two seconds and at exit."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(desk.app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    serving = asyncio.create_task(server.serve())
    deadline = asyncio.get_running_loop().time() + within
    while not server.started:
        if serving.done() or asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"the desk could not listen on 127.0.0.1:{port}")
        await asyncio.sleep(0.05)
    try:
        await desk.subscribe()
        desk.write_summary()
        while not serving.done():
            await asyncio.wait([serving], timeout=2)
            desk.write_summary()
    finally:
        await desk.close()


def add_arguments(parser: Any) -> None:
    parser.add_argument("--flags-url", default="http://127.0.0.1:8005", help="the flags service")
    parser.add_argument("--port", type=int, default=8090, help="where the desk listens (8090)")
    parser.add_argument("--summary", type=Path, required=True, help="JSON summary to write")
    parser.add_argument("--seed", type=int, default=1, help="the agencies' habits' seed")


def run(args: Any, *, auth_dir: Path, registry_path: Path) -> int:
    from journey_api.tokens import DevelopmentSigner

    signer = DevelopmentSigner(auth_dir)
    tokens: dict[str, str] = {}

    def token_for(agency_id: str) -> str:
        if agency_id not in tokens:
            tokens[agency_id] = signer.mint(
                agency_id=agency_id,
                scopes=["flags:read", "flags:write", "webhooks:write"],
                lifetime_seconds=12 * 3600,
            )
        return tokens[agency_id]

    desk = Desk(
        flags_url=args.flags_url,
        registry=AgencyRegistry.load(registry_path),
        token_for=token_for,
        public_url=f"http://127.0.0.1:{args.port}",
        summary=args.summary,
        seed=args.seed,
    )
    asyncio.run(serve(desk, port=args.port))
    return 0
