from __future__ import annotations

from pathlib import Path

import pytest

from journey_cli.devstack import Stack, StackError
from journey_cli.handlers import devstack_options


def test_up_takes_kube_and_kafka_security_in_any_order() -> None:
    assert devstack_options(["--kafka-security", "sasl_ssl", "--kube"]) == (
        True,
        "sasl_ssl",
        [],
    )
    assert devstack_options(["--kube", "--", "pytest", "-x"]) == (
        True,
        None,
        ["--", "pytest", "-x"],
    )


def test_the_last_choice_is_kept_and_a_typo_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVSTACK_DIR", str(tmp_path))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("DEVSTACK_KAFKA_SECURITY", raising=False)
    stack = Stack.from_environment()
    assert stack.kafka is not None and stack.kafka.security == "plaintext"
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "mode").write_text("sasl_ssl")
    stack = Stack.from_environment()
    assert stack.kafka is not None and stack.kafka.secured is not None
    assert stack.kafka.data.name == "data-sasl_ssl"
    with pytest.raises(StackError, match="one of plaintext, sasl_ssl, not 'sasl-ssl'"):
        Stack.from_environment(kafka_security="sasl-ssl")
