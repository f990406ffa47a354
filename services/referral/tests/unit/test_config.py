"""The referral service's keys: development defaults only in development."""

from __future__ import annotations

import base64
import os

import pytest

from journey_platform.settings import load
from referral.config import ReferralSettings


def test_outside_development_it_needs_its_master_and_pseudonym_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEPLOYMENT_ENVIRONMENT", "production")
    for variable in ("IDENTITY_MASTER_KEY", "PSEUDONYM_KEY"):
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(SystemExit, match="set PSEUDONYM_KEY, IDENTITY_MASTER_KEY from a secret"):
        load(ReferralSettings)
    monkeypatch.setenv("IDENTITY_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
    monkeypatch.setenv("PSEUDONYM_KEY", base64.b64encode(os.urandom(32)).decode())
    assert load(ReferralSettings).deployment_environment == "production"
