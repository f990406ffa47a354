"""The `journey` command."""

from __future__ import annotations

import argparse
import sys

from journey_cli import handlers
from journey_cli.devstack import StackError
from journey_simulator.command import add_arguments as add_simulate_arguments


def _add_stack_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The local stack, a development token, and the whole system run on it."""
    devstack = commands.add_parser(
        "devstack",
        help="the local Kafka, PostgreSQL, Jaeger (traces) and Prometheus (metrics); no Docker",
    )
    devstack.add_argument("action", choices=["up", "down", "status", "run"])
    devstack.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        help="with run: the command to run; `up --kube` or `run --kube -- ...` also start a "
        "Kubernetes API server (etcd and kube-apiserver, built on first use; or DEVSTACK_KUBE=1); "
        "`--kafka-security sasl_ssl` runs the broker with SASL_SSL, a principal per service and "
        "ACLs from the topic catalogue (or DEVSTACK_KAFKA_SECURITY; default plaintext)",
    )
    devstack.set_defaults(func=handlers.devstack)
    token = commands.add_parser("token", help="mint a development access token (local key)")
    token.add_argument("--agency", required=True, help="agency id from deploy/local/agencies.yaml")
    token.add_argument("--scope", nargs="*", help="scopes (default: all)")
    token.add_argument("--lifetime", type=int, default=3600, help="seconds (default 3600)")
    token.set_defaults(func=handlers.token)
    run = commands.add_parser(
        "run", help="the whole system, a simulated cohort through it and a report, until Ctrl-C"
    )
    run.add_argument("--journeys", type=int, default=2000, help="cohort size (default 2000)")
    run.add_argument("--seed", type=int, default=1, help="the cohort's seed (default 1)")
    run.add_argument("--start", default="2024-01-01", help="simulated start (default 2024-01-01)")
    run.add_argument("--months", type=int, default=18, help="simulated months (default 18)")
    run.add_argument(
        "--exit-after-report", action="store_true", help="stop after the report (tests, CI)"
    )
    run.set_defaults(func=handlers.run)


def _add_cohort_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The simulated cohort and the agencies' desks that answer its flags."""
    simulate = commands.add_parser(
        "simulate", help="a calibrated synthetic cohort through the partner APIs, with its truth"
    )
    add_simulate_arguments(simulate)
    simulate.set_defaults(func=handlers.simulate)
    desk = commands.add_parser(
        "desk",
        help="the simulated agencies' webhook endpoints: told about flags, they acknowledge "
        "them as calibrated",
    )
    from journey_simulator.desk import add_arguments as add_desk_arguments

    add_desk_arguments(desk)
    desk.set_defaults(func=handlers.desk)


def _add_analytics_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Reports, rebuilds, what-if replays and exports from the analytics service."""
    report = commands.add_parser(
        "report", help="the analytics API's funnel, drop-offs, waits, event log and charts"
    )
    from analytics.cli.report import add_arguments as add_report_arguments

    add_report_arguments(report)
    report.set_defaults(func=handlers.report)
    analytics = commands.add_parser(
        "analytics", help="rebuild the analytics tables from the topics (into a scratch database)"
    )
    from analytics.cli.rebuild import add_arguments as add_analytics_arguments

    add_analytics_arguments(analytics)
    analytics.set_defaults(func=handlers.analytics)
    whatif = commands.add_parser(
        "whatif", help="replay the stored history under other rule thresholds, and compare"
    )
    from analytics.cli.whatif import add_arguments as add_whatif_arguments

    add_whatif_arguments(whatif)
    whatif.set_defaults(func=handlers.whatif)
    export = commands.add_parser(
        "export", help="datasets for others: `export ctdc --k 11`, k-anonymised (CTDC's form)"
    )
    from analytics.cli.export import add_arguments as add_export_arguments

    add_export_arguments(export)
    export.set_defaults(func=handlers.export)


def _add_operations_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """What an operator runs: migrations, images, dead letters, keys, traces."""
    migrate = commands.add_parser(
        "migrate", help="every service's database and the catalogued topics, prepared; then exit"
    )
    from journey_cli.migrate import add_arguments as add_migrate_arguments

    add_migrate_arguments(migrate)
    migrate.set_defaults(func=handlers.migrate)
    images = commands.add_parser(
        "images", help="the container images, built with podman or docker (make images)"
    )
    from journey_cli.images import add_arguments as add_images_arguments

    add_images_arguments(images)
    images.set_defaults(func=handlers.images)
    testcontainers = commands.add_parser(
        "testcontainers",
        help="run a command with a Docker API for testcontainers (podman's, on a private "
        "socket, if podman built the images) and no KAFKA_BOOTSTRAP_SERVERS or DATABASE_URL",
    )
    testcontainers.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    testcontainers.set_defaults(func=handlers.testcontainers)
    deadletter = commands.add_parser(
        "deadletter", help="records consumers could not process: list them, replay them"
    )
    from journey_cli.deadletter import add_arguments as add_deadletter_arguments

    add_deadletter_arguments(deadletter)
    deadletter.set_defaults(func=handlers.deadletter)
    keys = commands.add_parser(
        "keys", help="master keys: a new one, or every journey's data key re-sealed under one"
    )
    from journey_cli.keys import add_arguments as add_keys_arguments

    add_keys_arguments(keys)
    keys.set_defaults(func=handlers.keys)
    trace = commands.add_parser(
        "trace", help="a trace from Jaeger as a tree of spans: by trace id, or a flag's by its id"
    )
    trace.add_argument("trace_id", nargs="?", help="32 hex digits (a traceparent's second part)")
    trace.add_argument("--flag", help="a flag id: the trace of each of its publications")
    trace.add_argument("--jaeger", help="Jaeger's base URL (default: $JAEGER_URL)")
    trace.set_defaults(func=handlers.trace)


def _add_check_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Checks of the supply chain and the event contracts."""
    audit = commands.add_parser(
        "audit",
        help="known vulnerabilities in the pinned packages (pip-audit), bandit over the "
        "sources, and an SBOM, into build/audit/ (make audit)",
    )
    audit.set_defaults(func=handlers.audit)
    schemas = commands.add_parser("schemas", help="the event contracts in schemas/")
    schemas.add_argument(
        "action", choices=["check"], help="check: no incompatible change in a major"
    )
    schemas.set_defaults(func=handlers.schemas)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="journey", description=__doc__)
    commands = parser.add_subparsers(dest="area", required=True)
    # In this order in `journey --help`.
    _add_stack_commands(commands)
    _add_cohort_commands(commands)
    _add_analytics_commands(commands)
    _add_operations_commands(commands)
    _add_check_commands(commands)
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except StackError as error:
        print(f"journey {args.area}: {error}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
