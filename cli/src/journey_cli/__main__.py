"""The `journey` command."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from journey_cli.devstack import Stack, StackError
from journey_platform.compatibility import check_history
from journey_platform.contracts import Contracts
from journey_platform.settings import find_schemas_dir
from journey_simulator.command import add_arguments as add_simulate_arguments


def _devstack_options(remainder: list[str]) -> tuple[bool, str | None, list[str]]:
    """`up [--kube] [--kafka-security MODE]` and `run [...] -- CMD`: the options land in the
    remainder after the action. Returns kube, the Kafka security asked for, and the rest."""
    kube, security = False, None
    while remainder[:1] in (["--kube"], ["--kafka-security"]):
        if remainder[0] == "--kube":
            kube, remainder = True, remainder[1:]
        else:
            security, remainder = (remainder[1:2] or [""])[0], remainder[2:]
    return kube, security, remainder


def _devstack(args: argparse.Namespace) -> int:
    kube, kafka_security, arguments = _devstack_options(args.command)
    stack = Stack.from_environment(kafka_security=kafka_security)
    if args.action == "up":
        started = stack.up(kube=kube)
        print(f"started: {', '.join(started) or 'nothing (already running)'}")
        for name, value in stack.environment().items():
            print(f"{name}={value}")
        print(f"state and logs: {stack.root}  (source {stack.env_file} to use them)")
        return 0
    if args.action == "down":
        stopped = stack.down()
        print(f"stopped: {', '.join(stopped) or 'nothing was running'}")
        return 0
    if args.action == "status":
        states = stack.status()
        for name, state in states.items():
            print(f"{name}: {state}")
        return 0 if all(s.startswith("up") for s in states.values()) else 1
    # run: bring the stack up for one command, and take down only what this call started.
    command = arguments[1:] if arguments[:1] == ["--"] else arguments
    if not command:
        print(
            "journey devstack run [--kube] [--kafka-security sasl_ssl] -- COMMAND [ARGS...]",
            file=sys.stderr,
        )
        return 2
    started = stack.up(kube=kube)
    try:
        return subprocess.call(command, env={**os.environ, **stack.environment()})  # noqa: S603
    finally:
        if started:
            stack.down()


def _schemas(args: argparse.Namespace) -> int:
    schemas_dir = find_schemas_dir()
    contracts = Contracts.load(schemas_dir)  # loading fails loudly on a malformed file
    problems = check_history(schemas_dir)
    for problem in problems:
        print(problem)
    print(f"{len(contracts.schemas)} event schemas, {len(problems)} incompatible changes")
    return 1 if problems else 0


def _token(args: argparse.Namespace) -> int:
    from journey_api.agencies import AgencyRegistry
    from journey_api.auth import SCOPES
    from journey_api.tokens import DevelopmentSigner

    root = find_schemas_dir().parent
    registry = AgencyRegistry.load(root / "deploy" / "local" / "agencies.yaml")
    if registry.get(args.agency) is None:
        known = ", ".join(a.id for a in registry)
        print(f"journey token: unknown agency {args.agency!r}; known: {known}", file=sys.stderr)
        return 2
    unknown = set(args.scope or ()) - set(SCOPES)
    if unknown:
        print(
            f"journey token: unknown scopes {sorted(unknown)}; known: {sorted(SCOPES)}",
            file=sys.stderr,
        )
        return 2
    signer = DevelopmentSigner(root / ".devstack" / "auth")
    print(
        signer.mint(
            agency_id=args.agency,
            scopes=args.scope or sorted(SCOPES),
            lifetime_seconds=args.lifetime,
        )
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    from journey_cli.run import Cohort, run

    cohort = Cohort(args.journeys, args.seed, args.start, args.months)
    return run(find_schemas_dir().parent, cohort, serve=not args.exit_after_report)


def _simulate(args: argparse.Namespace) -> int:
    from journey_simulator.command import run

    stack, root = Stack.from_environment(), find_schemas_dir().parent
    return run(
        args,
        bootstrap_servers=stack.bootstrap_servers,
        devstack_dir=stack.root,
        auth_dir=root / ".devstack" / "auth",
    )


def _desk(args: argparse.Namespace) -> int:
    from journey_simulator.desk import run

    root = find_schemas_dir().parent
    return run(
        args,
        auth_dir=root / ".devstack" / "auth",
        registry_path=root / "deploy" / "local" / "agencies.yaml",
    )


def _migrate(args: argparse.Namespace) -> int:
    from journey_cli.migrate import run

    return run(args)


def _images(args: argparse.Namespace) -> int:
    from journey_cli.images import run

    return run(args)


def _audit(args: argparse.Namespace) -> int:
    from journey_cli.audit import run

    return run(args)


def _testcontainers(args: argparse.Namespace) -> int:
    from journey_cli.images.docker_api import run

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print("journey testcontainers -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    return run(command)


def _deadletter(args: argparse.Namespace) -> int:
    from journey_cli.deadletter import run

    return run(args, bootstrap_servers=Stack.from_environment().bootstrap_servers)


def _keys(args: argparse.Namespace) -> int:
    from journey_cli.keys import run

    return run(args)


def _trace(args: argparse.Namespace) -> int:
    from journey_cli.traces import command

    return command(args)


def _report(args: argparse.Namespace) -> int:
    from analytics.report import run

    return run(args)


def _analytics(args: argparse.Namespace) -> int:
    from analytics.rebuild import run

    stack = Stack.from_environment()
    return run(args, database_url=stack.database_url, bootstrap_servers=stack.bootstrap_servers)


def _export(args: argparse.Namespace) -> int:
    from analytics.ctdc_cli import run

    return run(args)


def _whatif(args: argparse.Namespace) -> int:
    from analytics.whatif_cli import run

    return run(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="journey", description=__doc__)
    commands = parser.add_subparsers(dest="area", required=True)
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
    devstack.set_defaults(func=_devstack)
    token = commands.add_parser("token", help="mint a development access token (local key)")
    token.add_argument("--agency", required=True, help="agency id from deploy/local/agencies.yaml")
    token.add_argument("--scope", nargs="*", help="scopes (default: all)")
    token.add_argument("--lifetime", type=int, default=3600, help="seconds (default 3600)")
    token.set_defaults(func=_token)
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
    run.set_defaults(func=_run)
    simulate = commands.add_parser(
        "simulate", help="a calibrated synthetic cohort through the partner APIs, with its truth"
    )
    add_simulate_arguments(simulate)
    simulate.set_defaults(func=_simulate)
    desk = commands.add_parser(
        "desk",
        help="the simulated agencies' webhook endpoints: told about flags, they acknowledge "
        "them as calibrated",
    )
    from journey_simulator.desk import add_arguments as add_desk_arguments

    add_desk_arguments(desk)
    desk.set_defaults(func=_desk)
    report = commands.add_parser(
        "report", help="the analytics API's funnel, drop-offs, waits, event log and charts"
    )
    from analytics.report import add_arguments as add_report_arguments

    add_report_arguments(report)
    report.set_defaults(func=_report)
    analytics = commands.add_parser(
        "analytics", help="rebuild the analytics tables from the topics (into a scratch database)"
    )
    from analytics.rebuild import add_arguments as add_analytics_arguments

    add_analytics_arguments(analytics)
    analytics.set_defaults(func=_analytics)
    whatif = commands.add_parser(
        "whatif", help="replay the stored history under other rule thresholds, and compare"
    )
    from analytics.whatif_cli import add_arguments as add_whatif_arguments

    add_whatif_arguments(whatif)
    whatif.set_defaults(func=_whatif)
    export = commands.add_parser(
        "export", help="datasets for others: `export ctdc --k 11`, k-anonymised (CTDC's form)"
    )
    from analytics.ctdc_cli import add_arguments as add_export_arguments

    add_export_arguments(export)
    export.set_defaults(func=_export)
    migrate = commands.add_parser(
        "migrate", help="every service's database and the catalogued topics, prepared; then exit"
    )
    from journey_cli.migrate import add_arguments as add_migrate_arguments

    add_migrate_arguments(migrate)
    migrate.set_defaults(func=_migrate)
    images = commands.add_parser(
        "images", help="the container images, built with podman or docker (make images)"
    )
    from journey_cli.images import add_arguments as add_images_arguments

    add_images_arguments(images)
    images.set_defaults(func=_images)
    testcontainers = commands.add_parser(
        "testcontainers",
        help="run a command with a Docker API for testcontainers (podman's, on a private "
        "socket, if podman built the images) and no KAFKA_BOOTSTRAP_SERVERS or DATABASE_URL",
    )
    testcontainers.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    testcontainers.set_defaults(func=_testcontainers)
    deadletter = commands.add_parser(
        "deadletter", help="records consumers could not process: list them, replay them"
    )
    from journey_cli.deadletter import add_arguments as add_deadletter_arguments

    add_deadletter_arguments(deadletter)
    deadletter.set_defaults(func=_deadletter)
    keys = commands.add_parser(
        "keys", help="master keys: a new one, or every journey's data key re-sealed under one"
    )
    from journey_cli.keys import add_arguments as add_keys_arguments

    add_keys_arguments(keys)
    keys.set_defaults(func=_keys)
    trace = commands.add_parser(
        "trace", help="a trace from Jaeger as a tree of spans: by trace id, or a flag's by its id"
    )
    trace.add_argument("trace_id", nargs="?", help="32 hex digits (a traceparent's second part)")
    trace.add_argument("--flag", help="a flag id: the trace of each of its publications")
    trace.add_argument("--jaeger", help="Jaeger's base URL (default: $JAEGER_URL)")
    trace.set_defaults(func=_trace)
    audit = commands.add_parser(
        "audit",
        help="known vulnerabilities in the pinned packages (pip-audit), bandit over the "
        "sources, and an SBOM, into build/audit/ (make audit)",
    )
    audit.set_defaults(func=_audit)
    schemas = commands.add_parser("schemas", help="the event contracts in schemas/")
    schemas.add_argument(
        "action", choices=["check"], help="check: no incompatible change in a major"
    )
    schemas.set_defaults(func=_schemas)
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except StackError as error:
        print(f"journey {args.area}: {error}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
