from __future__ import annotations

import faust
from faust.types.auth import AuthProtocol, SASLMechanism
from pydantic import SecretStr

from journey_platform.settings import KafkaSecurity
from journey_processor.engines.faust.app import _credentials


def test_faust_authenticates_as_the_environment_says() -> None:
    credentials = _credentials(
        KafkaSecurity(
            security_protocol="SASL_SSL",
            sasl_username="journey-processor",
            sasl_password=SecretStr("not-a-real-password"),
        )
    )
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol == AuthProtocol.SASL_SSL
    assert credentials.mechanism == SASLMechanism.SCRAM_SHA_512
    assert credentials.username == "journey-processor"


def test_plaintext_needs_no_credentials() -> None:
    assert _credentials(KafkaSecurity(security_protocol="PLAINTEXT")) is None
