"""What every `RecordStore` must do, as one abstract test suite (cosmicpython's habit).

A test module subclasses `RecordStoreContract` and gives it a `store` fixture: the
in-memory store in `libs/partner-api/tests/unit`, the PostgreSQL store (in a transaction
rolled back afterwards) in `tests/integration`. Each test writes through the real write
pipeline (`JourneyRecords`), so the fake is held to what the services do.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest

from journey_api.agencies import Agency
from journey_api.auth import Principal
from journey_api.domain.records import Action, Recorded
from journey_api.problems import Problem
from journey_api.records import JourneyRecords
from journey_api.store import RecordStore
from journey_platform.contracts import Contracts
from journey_platform.outbox import Outbox
from journey_platform.pseudonyms import anonymous_journey_id
from journey_platform.settings import find_schemas_dir
from nrm_domain.agencies import AgencyType

POLICE = frozenset({AgencyType.POLICE_FORCE})
RECORD_CRIME = Action("criminal_case", "uk.nrm.crime.recorded", "justice:write", POLICE, "-")
OPEN_INVESTIGATION = Action(
    "investigation_opening", "uk.nrm.investigation.opened", "justice:write", POLICE, "-"
)
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def police(agency_id: str) -> Principal:
    return Principal(
        f"{agency_id}-client", Agency(agency_id, agency_id, AgencyType.POLICE_FORCE), frozenset()
    )


@cache
def _contracts() -> Contracts:
    return Contracts.load(find_schemas_dir())


class RecordStoreContract:
    """Subclass with a `store` fixture yielding an empty store."""

    @pytest.fixture
    def records(self) -> JourneyRecords:
        return JourneyRecords(outbox=Outbox(_contracts()), source="prosecution")

    async def _record(
        self,
        records: JourneyRecords,
        store: RecordStore,
        *,
        by: str = "met-police",
        journey_id: str,
        case: uuid.UUID,
        action: Action = RECORD_CRIME,
        occurred_at: datetime = NOW,
        participants: tuple[str, ...] = (),
        data: dict[str, Any] | None = None,
    ) -> Recorded:
        if data is None:
            data = {"offence": "other", "police_force_region": "london"}
            if action is not RECORD_CRIME:
                data = {}
        return await records.record(
            store,
            police(by),
            action,
            journey_id=journey_id,
            resource_id=case,
            attributes=data,
            event_data={"case_id": str(case), **data},
            occurred_at=occurred_at,
            recorded_at=NOW + timedelta(hours=1),
            participants=participants,
        )

    async def test_a_journey_is_known_once_added(self, store: RecordStore) -> None:
        journey = anonymous_journey_id()
        assert not await store.journey_is_known(journey)
        await store.add_journey(journey)
        assert await store.journey_is_known(journey)

    async def test_a_learned_journey_is_known_with_its_recorder_taking_part(
        self, store: RecordStore
    ) -> None:
        journey = anonymous_journey_id()
        await store.learn_journey(journey, {}, "met-police")
        await store.learn_journey(journey, {"support_eligible": True}, "sca")  # learned again
        assert await store.journey_is_known(journey)
        assert await store.takes_part(journey, "met-police")
        assert await store.takes_part(journey, "sca")
        assert not await store.takes_part(journey, "gmp")

    async def test_a_token_is_spent_once(self, store: RecordStore) -> None:
        expires = (NOW + timedelta(days=3650)).timestamp()
        token = replace(police("met-police"), token_id=str(uuid.uuid4()), expires_at=expires)
        assert await store.spend_token(token)
        assert not await store.spend_token(token), "spent already"
        await store.audit(token, action="read:identity", journey_id=None, outcome="replayed")
        assert await store.spend_token(replace(token, token_id=str(uuid.uuid4())))

    async def test_a_resource_reads_back_whole_and_in_recording_order(
        self, store: RecordStore, records: JourneyRecords
    ) -> None:
        journey, case = anonymous_journey_id(), uuid.uuid4()
        crime = await self._record(records, store, journey_id=journey, case=case)
        opened = await self._record(
            records, store, journey_id=journey, case=case, action=OPEN_INVESTIGATION
        )
        assert await store.records_of(case) == [crime, opened]
        resource = await records.resource(store, case, "criminal_case")
        assert resource is not None and resource.journey_id == journey
        assert [r.kind for r in resource.records] == ["criminal_case", "investigation_opening"]
        assert await records.resource(store, case, "support_case") is None, "another kind"
        assert await records.resource(store, uuid.uuid4(), "criminal_case") is None

    async def test_the_writer_and_the_named_agencies_take_part_and_no_one_else(
        self, store: RecordStore, records: JourneyRecords
    ) -> None:
        journey = anonymous_journey_id()
        await self._record(
            records, store, journey_id=journey, case=uuid.uuid4(), participants=("cps-london",)
        )
        assert await store.takes_part(journey, "met-police")
        assert await store.takes_part(journey, "cps-london")
        assert not await store.takes_part(journey, "haven-support")
        assert not await store.takes_part(anonymous_journey_id(), "met-police")

    async def test_the_timeline_is_by_when_it_happened_then_by_recording(
        self, store: RecordStore, records: JourneyRecords
    ) -> None:
        journey, case = anonymous_journey_id(), uuid.uuid4()
        late = await self._record(records, store, journey_id=journey, case=case)
        early = await self._record(
            records,
            store,
            journey_id=journey,
            case=case,
            action=OPEN_INVESTIGATION,
            occurred_at=NOW - timedelta(days=1),
        )
        same_time = await self._record(
            records, store, journey_id=journey, case=case, action=OPEN_INVESTIGATION
        )
        await self._record(records, store, journey_id=anonymous_journey_id(), case=uuid.uuid4())
        assert await store.timeline(journey) == [early, late, same_time]

    async def test_a_page_shows_only_journeys_the_agency_takes_part_in_page_by_page(
        self, store: RecordStore, records: JourneyRecords
    ) -> None:
        mine, others = anonymous_journey_id(), anonymous_journey_id()
        first = await self._record(records, store, journey_id=mine, case=uuid.uuid4())
        await self._record(records, store, by="gmp", journey_id=others, case=uuid.uuid4())
        second = await self._record(
            records,
            store,
            journey_id=mine,
            case=uuid.uuid4(),
            occurred_at=NOW - timedelta(days=2),
        )
        await self._record(
            records, store, journey_id=mine, case=uuid.uuid4(), action=OPEN_INVESTIGATION
        )
        by_met = police("met-police")

        async def page(cursor: str | None, **filters: Any) -> tuple[list[Recorded], str | None]:
            query = {"journey_id": None, "occurred_from": None, "occurred_to": None, **filters}
            return await records.page(
                store, by_met, kind="criminal_case", cursor=cursor, limit=1, **query
            )

        shown, cursor = await page(None)
        assert shown == [first] and cursor is not None
        shown, cursor = await page(cursor)
        assert shown == [second] and cursor is None, "gmp's journey is not shown to the Met"
        assert (await page(None, occurred_to=NOW - timedelta(days=1)))[0] == [second]
        assert (await page(None, occurred_from=NOW))[0] == [first]
        assert (await page(None, journey_id=others))[0] == []

    async def test_a_record_whose_event_breaks_its_contract_writes_nothing(
        self, store: RecordStore, records: JourneyRecords
    ) -> None:
        journey, case = anonymous_journey_id(), uuid.uuid4()
        with pytest.raises(Problem) as refused:
            await self._record(
                records, store, journey_id=journey, case=case, data={"offence": "arson"}
            )
        assert refused.value.status == 422
        with pytest.raises(Problem, match="after the time of recording"):
            await self._record(
                records, store, journey_id=journey, case=case, occurred_at=NOW + timedelta(days=1)
            )
        assert await store.records_of(case) == []
        assert not await store.takes_part(journey, "met-police")
