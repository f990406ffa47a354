"""What each `journey` subcommand does, given its parsed arguments; __main__ parses."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from journey_cli.devstack import Stack
from journey_platform.compatibility import check_history
from journey_platform.contracts import Contracts
from journey_platform.settings import find_schemas_dir


def devstack_options(remainder: list[str]) -> tuple[bool, str | None, list[str]]:
    """`up [--kube] [--kafka-security MODE]` and `run [...] -- CMD`: the options land in the
    remainder after the action. Returns kube, the Kafka security asked for, and the rest."""
    kube, security = False, None
    while remainder[:1] in (["--kube"], ["--kafka-security"]):
        if remainder[0] == "--kube":
            kube, remainder = True, remainder[1:]
        else:
            security, remainder = (remainder[1:2] or [""])[0], remainder[2:]
    return kube, security, remainder


def devstack(args: argparse.Namespace) -> int:
    kube, kafka_security, arguments = devstack_options(args.command)
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


def schemas(args: argparse.Namespace) -> int:
    schemas_dir = find_schemas_dir()
    contracts = Contracts.load(schemas_dir)  # loading fails loudly on a malformed file
    problems = check_history(schemas_dir)
    for problem in problems:
        print(problem)
    print(f"{len(contracts.schemas)} event schemas, {len(problems)} incompatible changes")
    return 1 if problems else 0


def token(args: argparse.Namespace) -> int:
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


def run(args: argparse.Namespace) -> int:
    from journey_cli.run import Cohort, run

    cohort = Cohort(args.journeys, args.seed, args.start, args.months)
    return run(find_schemas_dir().parent, cohort, serve=not args.exit_after_report)


def simulate(args: argparse.Namespace) -> int:
    from journey_simulator.command import run

    stack, root = Stack.from_environment(), find_schemas_dir().parent
    return run(
        args,
        bootstrap_servers=stack.bootstrap_servers,
        devstack_dir=stack.root,
        auth_dir=root / ".devstack" / "auth",
    )


def desk(args: argparse.Namespace) -> int:
    from journey_simulator.desk import run

    root = find_schemas_dir().parent
    return run(
        args,
        auth_dir=root / ".devstack" / "auth",
        registry_path=root / "deploy" / "local" / "agencies.yaml",
    )


def migrate(args: argparse.Namespace) -> int:
    from journey_cli.migrate import run

    return run(args)


def images(args: argparse.Namespace) -> int:
    from journey_cli.images import run

    return run(args)


def audit(args: argparse.Namespace) -> int:
    from journey_cli.audit import run

    return run(args)


def testcontainers(args: argparse.Namespace) -> int:
    from journey_cli.images.docker_api import run

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print("journey testcontainers -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    return run(command)


def deadletter(args: argparse.Namespace) -> int:
    from journey_cli.deadletter import run

    return run(args, bootstrap_servers=Stack.from_environment().bootstrap_servers)


def keys(args: argparse.Namespace) -> int:
    from journey_cli.keys import run

    return run(args)


def trace(args: argparse.Namespace) -> int:
    from journey_cli.traces import command

    return command(args)


def report(args: argparse.Namespace) -> int:
    from analytics.cli.report import run

    return run(args)


def analytics(args: argparse.Namespace) -> int:
    from analytics.cli.rebuild import run

    stack = Stack.from_environment()
    return run(args, database_url=stack.database_url, bootstrap_servers=stack.bootstrap_servers)


def export(args: argparse.Namespace) -> int:
    from analytics.cli.export import run

    return run(args)


def whatif(args: argparse.Namespace) -> int:
    from analytics.cli.whatif import run

    return run(args)
