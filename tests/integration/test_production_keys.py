"""A service started outside development without its keys refuses, in one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

KEYS = ("IDENTITY_MASTER_KEY", "PSEUDONYM_KEY", "NOTES_MASTER_KEY", "WEBHOOK_MASTER_KEY")


@pytest.mark.parametrize(
    ("module", "missing"),
    [
        ("referral", "PSEUDONYM_KEY, IDENTITY_MASTER_KEY"),
        ("flags", "NOTES_MASTER_KEY, WEBHOOK_MASTER_KEY"),
    ],
)
def test_a_production_service_without_its_keys_exits_with_one_line(
    module: str, missing: str
) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in KEYS}
    started = subprocess.run(
        [sys.executable, "-m", module],
        env={**environment, "DEPLOYMENT_ENVIRONMENT": "production"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode != 0
    assert started.stderr.splitlines() == [
        f"{module.capitalize()}Settings: DEPLOYMENT_ENVIRONMENT=production refuses "
        f"development keys: set {missing} from a secret"
    ]
