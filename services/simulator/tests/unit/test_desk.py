"""The simulated agencies' desk: it believes only signed deliveries, counts a redelivery
once, and acknowledges as the agency's habit says, at the flag's time plus the delay."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks import Webhook

from journey_api.agencies import Agency, AgencyRegistry
from journey_simulator.calibration import AcknowledgementHabit
from journey_simulator.desk import Desk
from nrm_domain.agencies import AgencyType

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
DUE_AT = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
RAISED_AT = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)  # raised late: evidence came in late


def desk_with(answer: int, tmp_path: Path) -> tuple[Desk, list[httpx.Request]]:
    registry = AgencyRegistry([Agency("haven-support", "Haven", AgencyType.SUPPORT_PROVIDER)])
    desk = Desk(
        flags_url="http://flags.test",
        registry=registry,
        token_for=lambda agency: f"token-of-{agency}",
        public_url="http://desk.test",
        summary=tmp_path / "desk.json",
    )
    desk.habits = {
        "support_provider": AcknowledgementHabit(
            share=1.0, median_hours=4, spread=0.0, action="contacted_person"
        )
    }
    desk.agencies["haven-support"].secret = SECRET
    sent: list[httpx.Request] = []

    def flags_service(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(answer, json={})

    desk.client = httpx.AsyncClient(transport=httpx.MockTransport(flags_service))
    return desk, sent


def delivery(
    event_type: str = "flag.raised", webhook_id: str | None = None
) -> tuple[str, dict[str, str]]:
    body = json.dumps(
        {
            "type": event_type,
            "timestamp": datetime.now(UTC).isoformat(),
            "data": {
                "flag_id": "0b6f7d0e-5c1e-5f6a-9d3b-1a2b3c4d5e6f",
                "journey_id": "jny_abcdefghijklmnopqrstuvwxyz",
                "rule_id": "missing-episode",
                "occurred_at": DUE_AT.isoformat(),
                "recorded_at": RAISED_AT.isoformat(),
            },
        }
    )
    msg_id, now = webhook_id or f"msg_{uuid.uuid4().hex}", datetime.now(UTC)
    signature = Webhook(SECRET).sign(msg_id, now, body)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return body, headers


async def post(desk: Desk, body: str, headers: dict[str, str]) -> int:
    transport = httpx.ASGITransport(app=desk.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as client:
        response = await client.post("/hooks/haven-support", content=body, headers=headers)
    return response.status_code


async def test_a_signed_raise_is_acknowledged_at_the_raise_plus_the_habits_delay(
    tmp_path: Path,
) -> None:
    desk, sent = desk_with(201, tmp_path)
    body, headers = delivery()
    assert await post(desk, body, headers) == 204
    assert await post(desk, body, headers) == 204  # the same webhook-id again
    await desk.close()

    [ack] = sent  # a redelivery is one delivery
    assert ack.url.path.endswith("/0b6f7d0e-5c1e-5f6a-9d3b-1a2b3c4d5e6f/acknowledgements")
    assert json.loads(ack.content) == {"action": "contacted_person"}  # never a note
    at = datetime.fromisoformat(ack.headers["Simulated-Time"])
    # Spread 0: exactly the median after the raise, not after the due time.
    assert at == RAISED_AT + timedelta(hours=4)
    assert ack.headers["Authorization"] == "Bearer token-of-haven-support"
    summary: dict[str, Any] = json.loads((tmp_path / "desk.json").read_text())
    assert summary["support_provider"]["told_raised"] == 1
    assert summary["support_provider"]["acknowledged"] == 1


async def test_a_tampered_delivery_is_refused_and_not_believed(tmp_path: Path) -> None:
    desk, sent = desk_with(201, tmp_path)
    body, headers = delivery()
    assert await post(desk, body.replace("missing-episode", "no-first-contact"), headers) == 400
    await desk.close()
    assert sent == []
    summary = json.loads((tmp_path / "desk.json").read_text())
    assert summary["support_provider"]["refused"] == 1
    assert summary["support_provider"]["told_raised"] == 0


async def test_a_flag_retracted_before_its_acknowledgement_is_counted_as_such(
    tmp_path: Path,
) -> None:
    desk, _ = desk_with(409, tmp_path)
    assert await post(desk, *delivery()) == 204
    await desk.close()
    summary = json.loads((tmp_path / "desk.json").read_text())
    assert summary["support_provider"]["retracted_first"] == 1
    assert summary["support_provider"]["acknowledged"] == 0
