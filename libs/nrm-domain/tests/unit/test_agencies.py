"""The NRM's roles: no agency type both refers and decides, and analysts do neither."""

from __future__ import annotations

from nrm_domain.agencies import COMPETENT_AUTHORITIES, FIRST_RESPONDERS, AgencyType


def test_no_agency_type_both_refers_and_decides() -> None:
    assert not FIRST_RESPONDERS & COMPETENT_AUTHORITIES


def test_analysts_and_support_providers_neither_refer_nor_decide() -> None:
    for kind in (AgencyType.ANALYST, AgencyType.SUPPORT_PROVIDER, AgencyType.CPS):
        assert kind not in FIRST_RESPONDERS | COMPETENT_AUTHORITIES
