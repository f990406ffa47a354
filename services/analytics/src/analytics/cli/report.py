"""`journey report`: the analytics API's answers in a terminal, as files, or as charts.

It talks to the analytics service over HTTP like any client, with a development analyst
token (agency `nrm-analysts`) minted from the local signing key in `.devstack/auth`.
Numbers are exactly the API's. A hidden value never prints as a number: it says
"suppressed [1]" or "not published [2]", and under the table each note says what was
hidden and why, in the API's words ("[1] suppressed (fewer than 10 flags, or would reveal
one)").

    journey report funnel --from 2025-01-01 --to 2025-12-31
    journey report dropoffs --by region --format csv --out dropoffs.csv
    journey report time-to-event --measure support_entry_to_exit --format json
    journey report event-log --format parquet --out events.parquet
    journey report charts --out charts/
    journey report nrm-statistics --quarter 2024Q4
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from analytics.cli.report_text import dropoffs_text, funnel_text, time_to_event_text
from analytics.domain.dropoffs import DIMENSIONS
from analytics.domain.survival import MEASURES
from journey_platform.settings import find_schemas_dir

DEFAULT_URL = "http://127.0.0.1:8004"
ANALYST_AGENCY = "nrm-analysts"
CHARTS = ("funnel", "dropoff-rates", "time-to-event")


def development_token(*, export: bool = False) -> str:
    """A development analyst token from the local signing key (never a production one)."""
    from journey_api.tokens import DevelopmentSigner

    signer = DevelopmentSigner(find_schemas_dir().parent / ".devstack" / "auth")
    scopes = ["analytics:read", *(["analytics:export"] if export else [])]
    return signer.mint(agency_id=ANALYST_AGENCY, scopes=scopes)


def client(url: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


# -- the summary at the end of `journey run` ---------------------------------------------


def summary(url: str, token: str) -> str:
    """A short account of the journeys so far: the funnel, the top five drop-off rules, and
    where the charts are. For the end of `make run`."""
    with client(url, token) as http:
        funnel = _get(http, "/v1/funnel")
        dropoffs = _get(http, "/v1/dropoffs", {"by": "rule"})
    base = url.rstrip("/")
    return "\n".join(
        [
            f"NRM funnel (counts under {funnel['threshold']} suppressed, zeros included):",
            _indent(funnel_text(funnel)),
            "",
            "Top drop-off rules, by flags raised:",
            _indent(dropoffs_text(dropoffs, limit=5)),
            "",
            "Charts: " + ", ".join(f"{base}/v1/charts/{name}.svg" for name in CHARTS),
            f"  (or `journey report charts --out DIR`); dashboard: {base}/dashboard",
        ]
    )


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


# -- the command -----------------------------------------------------------------------


class ReportError(Exception):
    """The API refused or failed: say why, in one line."""


def _get(http: httpx.Client, path: str, params: Mapping[str, str] | None = None) -> Any:
    response = _fetch(http, path, params)
    return response.json()


def _fetch(
    http: httpx.Client, path: str, params: Mapping[str, str] | None = None
) -> httpx.Response:
    try:
        response = http.get(path, params=params)
    except httpx.TransportError as error:
        raise ReportError(
            f"the analytics API at {http.base_url} does not answer ({error})"
        ) from None
    if response.status_code != 200:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise ReportError(f"{path}: HTTP {response.status_code}: {detail}")
    return response


def _period(args: argparse.Namespace) -> dict[str, str]:
    return {
        name: value for name, value in (("from", args.start), ("to", args.end)) if value is not None
    }


def _write(data: bytes, out: str | None, fmt: str) -> None:
    if out:
        Path(out).write_bytes(data)
        print(f"wrote {out}", file=sys.stderr)
    elif fmt == "parquet":
        raise ReportError("parquet is binary: give --out FILE")
    else:
        sys.stdout.write(data.decode())


def _table_command(args: argparse.Namespace, http: httpx.Client) -> None:
    params = _period(args)
    if args.report == "funnel":
        path, export, text = "/v1/funnel", "/v1/exports/funnel", funnel_text
    elif args.report == "dropoffs":
        params["by"] = args.by
        path, export, text = "/v1/dropoffs", "/v1/exports/dropoffs", dropoffs_text
    elif args.report == "nrm-statistics":
        from analytics.cli.nrm_report import nrm_text

        params = {"quarter": args.quarter}
        path, export, text = "/v1/nrm-statistics", "", nrm_text
    else:
        params["measure"] = args.measure
        path, export = "/v1/time-to-event", "/v1/exports/time-to-event"
        text = time_to_event_text
    if args.format in ("csv", "parquet"):
        if not export:
            raise ReportError(f"{args.report} comes as a table or json")
        _write(_fetch(http, f"{export}.{args.format}", params).content, args.out, args.format)
        return
    answer = _get(http, path, params)
    output = json.dumps(answer, indent=2) if args.format == "json" else text(answer)
    if args.out:
        Path(args.out).write_text(output + "\n")
    else:
        print(output)


def _event_log(args: argparse.Namespace, http: httpx.Client) -> None:
    fmt = "csv" if args.format in ("table", "csv") else args.format
    if fmt == "json":
        raise ReportError("the event log comes as csv or parquet")
    response = _fetch(http, f"/v1/event-log.{fmt}", _period(args))
    headers = response.headers
    print(
        f"event log: journeys cut short where their path is rare: "
        f"{headers.get('X-Truncated-Cases', '?')}; left out: "
        f"{headers.get('X-Dropped-Cases', '?')}; events not exported: "
        f"{headers.get('X-Dropped-Events', '?')}",
        file=sys.stderr,
    )
    _write(response.content, args.out, fmt)


def _charts(args: argparse.Namespace, http: httpx.Client) -> None:
    folder = Path(args.out or "charts")
    folder.mkdir(parents=True, exist_ok=True)
    for name in CHARTS:
        for fmt in ("png", "svg"):
            target = folder / f"{name}.{fmt}"
            target.write_bytes(_fetch(http, f"/v1/charts/{name}.{fmt}", _period(args)).content)
            print(f"wrote {target}")


def add_arguments(top: argparse.ArgumentParser) -> None:
    """The report subcommands and their options, onto `top` (`journey report`)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=DEFAULT_URL, help=f"analytics API (default {DEFAULT_URL})")
    common.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="referred from")
    common.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="referred up to")
    common.add_argument("--format", choices=["table", "json", "csv", "parquet"], default="table")
    common.add_argument("--out", help="file to write (csv, parquet); with charts: a folder")
    reports = top.add_subparsers(dest="report", required=True)
    reports.add_parser("funnel", parents=[common], help="journeys reaching each step")
    dropoffs = reports.add_parser("dropoffs", parents=[common], help="drop-offs by a dimension")
    dropoffs.add_argument("--by", choices=DIMENSIONS, default="rule")
    waits = reports.add_parser("time-to-event", parents=[common], help="Kaplan-Meier waits")
    waits.add_argument("--measure", choices=list(MEASURES), default=next(iter(MEASURES)))
    nrm = reports.add_parser(
        "nrm-statistics",
        parents=[common],
        help="the Home Office's quarterly NRM tables, live beside the published figures",
    )
    nrm.add_argument("--quarter", required=True, metavar="YYYYQn", help="such as 2024Q4")
    reports.add_parser("event-log", parents=[common], help="process-mining export (audited)")
    reports.add_parser("charts", parents=[common], help="every chart as PNG and SVG into --out")


def run(args: argparse.Namespace) -> int:
    """Run a parsed `journey report` command."""
    token = development_token(export=args.report == "event-log")
    try:
        with client(args.url, token) as http:
            if args.report == "event-log":
                _event_log(args, http)
            elif args.report == "charts":
                _charts(args, http)
            else:
                _table_command(args, http)
    except ReportError as error:
        print(f"journey report: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    top = argparse.ArgumentParser(prog="journey report", description=__doc__.split("\n\n")[0])
    add_arguments(top)
    return run(top.parse_args(argv))
