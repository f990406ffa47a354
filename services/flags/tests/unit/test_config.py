"""The flags service's keys: development defaults only in development."""

from __future__ import annotations

import base64
import os

import pytest

from flags.config import FlagsSettings
from journey_platform.settings import load


def test_outside_development_it_needs_its_notes_and_webhook_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEPLOYMENT_ENVIRONMENT", "production")
    for variable in ("NOTES_MASTER_KEY", "WEBHOOK_MASTER_KEY"):
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(SystemExit, match="set NOTES_MASTER_KEY, WEBHOOK_MASTER_KEY from a secret"):
        load(FlagsSettings)
    for variable in ("NOTES_MASTER_KEY", "WEBHOOK_MASTER_KEY"):
        monkeypatch.setenv(variable, base64.b64encode(os.urandom(32)).decode())
    assert load(FlagsSettings).deployment_environment == "production"
