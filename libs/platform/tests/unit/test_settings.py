"""Outside development, a key with a development default must come from the environment,
and a process that lacks one says so in one line."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from journey_platform.settings import PlatformSettings, load


class KeyedSettings(PlatformSettings):
    secret_keys = ("pseudonym_key", "sealing_key")
    sealing_key: SecretStr = SecretStr("development-only-sealing-key")
    batch_size: int = 10


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("PSEUDONYM_KEY", "SEALING_KEY", "DEPLOYMENT_ENVIRONMENT", "BATCH_SIZE"):
        monkeypatch.delenv(variable, raising=False)


def test_development_runs_on_the_development_keys() -> None:
    assert load(KeyedSettings).sealing_key.get_secret_value() == "development-only-sealing-key"


def test_any_other_environment_refuses_to_start_and_names_every_missing_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEPLOYMENT_ENVIRONMENT", "production")
    with pytest.raises(SystemExit) as refused:
        load(KeyedSettings)
    assert str(refused.value.code) == (
        "KeyedSettings: DEPLOYMENT_ENVIRONMENT=production refuses development keys: "
        "set PSEUDONYM_KEY, SEALING_KEY from a secret"
    )


def test_the_development_value_given_explicitly_is_refused_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEPLOYMENT_ENVIRONMENT", "staging")
    monkeypatch.setenv("PSEUDONYM_KEY", "p" * 32)
    monkeypatch.setenv("SEALING_KEY", "development-only-sealing-key")
    with pytest.raises(SystemExit, match=r"set SEALING_KEY from a secret$"):
        load(KeyedSettings)


def test_keys_from_the_environment_start_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOYMENT_ENVIRONMENT", "production")
    monkeypatch.setenv("PSEUDONYM_KEY", "p" * 32)
    monkeypatch.setenv("SEALING_KEY", "a key from the secret store")
    assert load(KeyedSettings).sealing_key.get_secret_value() == "a key from the secret store"


def test_a_malformed_setting_is_one_line_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_SIZE", "many")
    with pytest.raises(SystemExit) as refused:
        load(KeyedSettings)
    message = str(refused.value.code)
    assert message.startswith("KeyedSettings: BATCH_SIZE: ")
    assert "\n" not in message
