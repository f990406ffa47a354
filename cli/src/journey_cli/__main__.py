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


def _devstack(args: argparse.Namespace) -> int:
    stack = Stack.from_environment()
    if args.action == "up":
        started = stack.up()
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
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print("journey devstack run -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    started = stack.up()
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


def _report(args: argparse.Namespace) -> int:
    from analytics.report import run

    return run(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="journey", description=__doc__)
    commands = parser.add_subparsers(dest="area", required=True)
    devstack = commands.add_parser("devstack", help="the local Kafka and PostgreSQL (no Docker)")
    devstack.add_argument("action", choices=["up", "down", "status", "run"])
    devstack.add_argument("command", nargs=argparse.REMAINDER, help="with run: the command to run")
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
    report = commands.add_parser(
        "report", help="the analytics API's funnel, drop-offs, waits, event log and charts"
    )
    from analytics.report import add_arguments as add_report_arguments

    add_report_arguments(report)
    report.set_defaults(func=_report)
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
