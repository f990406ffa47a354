"""The faust worker's web server: off unless a port is given, then on loopback only.

faust's `worker` command turns the web on, on 0.0.0.0:6066, unless told otherwise; the
command line is parsed here by faust's own command, as `run` hands it over."""

from __future__ import annotations

from typing import Any

from faust.cli.faust import cli

from journey_processor.engines.faust.app import worker_arguments
from journey_processor.settings import ProcessorSettings


def faust_worker_options(settings: ProcessorSettings) -> dict[str, Any]:
    command, *arguments = worker_arguments(settings)
    umbrella = cli.make_context("faust", ["-A", "journey", command], resilient_parsing=True)
    worker = cli.get_command(umbrella, command)
    assert worker is not None
    options: dict[str, Any] = worker.make_context(command, arguments, parent=umbrella).params
    return options


def test_the_web_server_is_off_by_default() -> None:
    assert faust_worker_options(ProcessorSettings())["with_web"] is False


def test_given_a_port_it_listens_on_loopback_only() -> None:
    options = faust_worker_options(ProcessorSettings(processor_web_port=7001))
    assert options["with_web"] is True
    assert (options["web_bind"], options["web_host"], options["web_port"]) == (
        "127.0.0.1",
        "127.0.0.1",
        7001,
    )


def test_a_deployment_may_choose_the_address() -> None:
    settings = ProcessorSettings(processor_web_port=6066, processor_web_host="10.0.0.5")
    assert faust_worker_options(settings)["web_bind"] == "10.0.0.5"
