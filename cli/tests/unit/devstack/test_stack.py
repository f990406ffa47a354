"""A failed `devstack up` leaves nothing of its own running."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from journey_cli.devstack import Stack, StackError


class Server:
    """Stands in for LocalPostgres, LocalKafka, LocalJaeger, ...: start, stop, running."""

    def __init__(self, home: Path, fails: bool = False) -> None:
        self.home, self.security, self.fails, self.up = home, "plaintext", fails, False

    def start(self) -> bool:
        if self.fails:
            raise StackError("could not start")
        self.up = True
        return True

    def stop(self) -> bool:
        was, self.up = self.up, False
        return was

    def running(self) -> bool:
        return self.up


def test_a_failed_up_stops_what_it_had_started(tmp_path: Path) -> None:
    postgres, kafka, prometheus = Server(tmp_path), Server(tmp_path), Server(tmp_path)
    jaeger = Server(tmp_path, fails=True)
    stack = Stack(
        root=tmp_path,
        kafka=cast(Any, kafka),
        postgres=cast(Any, postgres),
        jaeger=cast(Any, jaeger),
        prometheus=cast(Any, prometheus),
        bootstrap_servers="127.0.0.1:1",
        database_url="postgresql://127.0.0.1:1/postgres",
        otlp_endpoint="http://127.0.0.1:1",
        kube=cast(Any, Server(tmp_path)),
    )

    with pytest.raises(StackError, match="could not start"):
        stack.up()

    assert not postgres.up and not kafka.up
    assert not prometheus.up, "never started after the failure"
