"""What each agency reads (one journey it takes part in, one it does not), and the whole
arrangement a matrix run needs, made once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass

from tests.authorisation.scene import Api, Made, Scene, Target
from tests.authorisation.tables import (
    COUNCIL,
    CPS,
    HOME_OFFICE,
    IECA,
    MAY_WRITE,
    NGO,
    OTHER_AGENCY,
    POLICE,
    SCA,
    SUPPORT,
    P,
    R,
    S,
    first_allowed,
    path_of,
    service_of,
)
from tests.authorisation.targets import PREPARE, _missing
from tests.integration.journeys import days_ago, synthetic_person
from tests.integration.services import BY_TYPE


@dataclass
class View:
    """The resources behind each read endpoint, as (resource id, journey id)."""

    referral: tuple[str, str]
    duty_to_notify: tuple[str, str]
    detention: tuple[str, str] | None
    support: tuple[str, str]
    crime: tuple[str, str]

    def resource(self, key: str) -> tuple[str, str] | None:
        service, path = service_of(key), path_of(key)
        if path.endswith("/timeline"):
            return {R: self.referral, S: self.support, P: self.crime}[service]
        collection = path.split("/")[2]
        return {
            "referrals": self.referral,
            "duty-to-notify-reports": self.duty_to_notify,
            "immigration-detentions": self.detention,
            "support-cases": self.support,
            "criminal-cases": self.crime,
        }[collection]


def pair(made: Made) -> tuple[str, str]:
    return made.resource_id, made.journey_id


async def join_by(
    api: Api, record: Awaitable[object], service: str, journey_id: str, agency: str
) -> None:
    """Join the journey by the record the agency would make. Should the service refuse it
    (a write cell then fails and says why), take part anyway: the reads are still tested."""
    try:
        await record
    except AssertionError:
        await api.take_part(service, journey_id, [agency])


async def arrange_reads(scene: Scene) -> dict[str, View]:
    """'participant': every BY_TYPE agency takes part; 'outsider': none does.

    Participation comes from the records each agency would make; only where the domain
    gives an agency no record in a service (the CPS in referral, say) is it arranged.
    """
    api, person = scene.api, synthetic_person()
    police, council, ngo = BY_TYPE[POLICE], BY_TYPE[COUNCIL], BY_TYPE[NGO]
    home_office = BY_TYPE[HOME_OFFICE]
    sca, ieca, provider, cps = BY_TYPE[SCA], BY_TYPE[IECA], BY_TYPE[SUPPORT], BY_TYPE[CPS]
    outsider_police, outsider_provider = OTHER_AGENCY[POLICE], OTHER_AGENCY[SUPPORT]
    referral, support, prosecution = R, S, P

    # Referral service: referred by the police to the SCA, re-referred by a council and an
    # NGO, detained by the IECA; a support provider asks to reconsider a negative decision.
    first = await scene.referral(agency=police, person=person)
    journey = first.journey_id

    async def reconsider() -> None:
        await scene.grounds(first, "negative")
        await scene.reconsideration_request(first, agency=provider)

    (detention, notified, outsider, outsider_sca, notified_outside), *_ = await asyncio.gather(
        asyncio.gather(
            scene.detention(journey),
            scene.duty_to_notify(police),
            scene.referral(agency=outsider_police, ca="ieca"),
            scene.referral(agency=outsider_police, ca="sca"),
            scene.duty_to_notify(outsider_police),
        ),
        join_by(api, scene.referral(agency=council, person=person), referral, journey, council),
        join_by(api, scene.referral(agency=ngo, person=person), referral, journey, ngo),
        join_by(api, reconsider(), referral, journey, provider),
        join_by(
            api, scene.referral(agency=home_office, person=person), referral, journey, home_office
        ),
        api.take_part(referral, journey, [cps]),
    )
    # A Duty to Notify report is anonymous: its own journey, with only the reporter on it.
    await api.take_part(
        referral, notified.journey_id, [council, ngo, home_office, sca, ieca, provider, cps]
    )
    outside_detention = await scene.detention(outsider.journey_id)

    # Support: asked for by the SCA, the council and the NGO and the IECA, provided by
    # the provider; the police report a missing episode.
    case, outside_case = await asyncio.gather(
        scene.support_case(provider, journey=first, requester=sca, learning=True),
        scene.support_case(
            outsider_provider, journey=outsider, requester=outsider_police, learning=True
        ),
    )
    missing = f"/v1/support-cases/{case.resource_id}/missing-episodes"
    await asyncio.gather(
        *(
            join_by(
                api, scene.support_case(provider, journey=first, requester=a), support, journey, a
            )
            for a in (council, ngo, home_office, ieca)
        ),
        join_by(api, api.record(S, missing, _missing(), agency=police), support, journey, police),
        api.take_part(support, journey, [cps]),
    )

    # Prosecution: the police record the crime; the CPS records the victim's engagement.
    crime, outside_crime = await asyncio.gather(
        scene.criminal_case(journey=first, agency=police, learning=True),
        scene.criminal_case(journey=outsider, agency=outsider_police, learning=True),
    )
    engagement = {"occurred_at": days_ago(21), "status": "engaged", "reason": "other"}
    path = f"/v1/criminal-cases/{crime.resource_id}/engagement-changes"
    await asyncio.gather(
        join_by(api, api.record(P, path, engagement, agency=cps), prosecution, journey, cps),
        api.take_part(prosecution, journey, [council, ngo, home_office, sca, ieca, provider]),
    )

    outside = View(
        pair(outsider),
        pair(notified_outside),
        pair(outside_detention),
        pair(outside_case),
        pair(outside_crime),
    )
    return {
        "participant": View(pair(first), pair(notified), pair(detention), pair(case), pair(crime)),
        "outsider": outside,
        # Every detention journey has the IECA on it; an SCA-routed referral does not.
        "outsider ieca": View(
            pair(outsider_sca), outside.duty_to_notify, None, outside.support, outside.crime
        ),
    }


@dataclass
class World:
    """What the module arranged. A failed arrangement fails only the tests that need it."""

    api: Api
    scene: Scene
    targets: dict[tuple[str, str], Target | BaseException]  # (key, type or "probe")
    views: dict[str, View] | BaseException

    def target(self, key: str, agency_type: str) -> Target:
        target = self.targets[key, agency_type]
        if isinstance(target, BaseException):
            raise AssertionError(f"arranging this failed: {target!r}") from target
        return target

    def view(self, role: str) -> View:
        if isinstance(self.views, BaseException):
            raise AssertionError(f"arranging the reads failed: {self.views!r}") from self.views
        return self.views[role]


async def arrange(api: Api, write_cells: Iterable[tuple[str, str]]) -> World:
    """Everything the cells need: for each (endpoint, agency type) write cell allowed to
    write, a fresh target; one more per endpoint ("probe") for the refusals to try."""
    scene = Scene(api)
    wanted = set(write_cells)
    cells = [
        (key, t, t if t != "probe" else first_allowed(MAY_WRITE, key))
        for key, allowed in MAY_WRITE.items()
        for t in (*sorted(allowed), "probe")
        if t == "probe" or (key, t) in wanted
    ]
    first = [cell for cell in cells if service_of(cell[0]) == R]
    then = [cell for cell in cells if service_of(cell[0]) != R]

    async def prepare(batch: list[tuple[str, str, str]]) -> list[Target | BaseException]:
        return await asyncio.gather(
            *(PREPARE[key](scene, t) for key, _, t in batch), return_exceptions=True
        )

    async def after_learning() -> list[Target | BaseException]:
        await scene.arrange_shared()
        return await prepare(then)

    # The referral service's targets need no Kafka: made while the others learn.
    made_first, made_then, views = await asyncio.gather(
        prepare(first),
        after_learning(),
        arrange_reads(scene),
        return_exceptions=True,
    )
    if isinstance(made_first, BaseException):
        raise made_first
    if isinstance(made_then, BaseException):  # the shared support or criminal cases
        made_then = [made_then] * len(then)
    made = zip(first + then, [*made_first, *made_then], strict=True)
    return World(api, scene, {(key, t): target for (key, t, _), target in made}, views)
