"""`journey export ctdc`: the k-anonymised journey dataset (GET /v1/exports/ctdc.{fmt}).

    journey export ctdc --k 11 --out ctdc.csv
    journey export ctdc --k 11 --format parquet --out ctdc.parquet --from 2024-01-01

Like `journey report`, a client of the analytics API with a development token (here with
the analytics:export scope); what anonymisation cost is printed to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys

from analytics.cli.report import (
    DEFAULT_URL,
    ReportError,
    _fetch,
    _period,
    _write,
    client,
    development_token,
)


def add_arguments(top: argparse.ArgumentParser) -> None:
    exports = top.add_subparsers(dest="export", required=True)
    ctdc = exports.add_parser("ctdc", help="one row per journey, k-anonymised, CTDC field names")
    ctdc.add_argument("--k", type=int, default=11, help="rows per combination (default 11)")
    ctdc.add_argument("--format", choices=["csv", "parquet"], default="csv")
    ctdc.add_argument("--out", help="file to write (default: CSV to stdout)")
    ctdc.add_argument("--url", default=DEFAULT_URL, help=f"analytics API (default {DEFAULT_URL})")
    ctdc.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="referred from")
    ctdc.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="referred up to")


def run(args: argparse.Namespace) -> int:
    try:
        with client(args.url, development_token(export=True)) as http:
            params = {**_period(args), "k": str(args.k)}
            response = _fetch(http, f"/v1/exports/ctdc.{args.format}", params)
            levels = json.loads(response.headers.get("X-Generalisation-Levels", "{}"))
            print(
                f"k = {args.k}: rows suppressed {response.headers.get('X-Rows-Suppressed')}, "
                f"cells generalised {response.headers.get('X-Cells-Generalised')}; levels "
                + ", ".join(f"{name} {level}" for name, level in levels.items()),
                file=sys.stderr,
            )
            _write(response.content, args.out, args.format)
    except ReportError as error:
        print(f"journey export: {error}", file=sys.stderr)
        return 1
    return 0
