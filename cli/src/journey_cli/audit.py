"""`journey audit` (`make audit`, run by CI after lint): the supply chain and static checks.

- pip-audit over every Python package this repository pins: uv.lock (all members, all
  groups) and the deployment checks' own tools (deploy/local/*/requirements.txt). A known
  vulnerability fails, unless deploy/audit/waivers.toml waives it; a waiver past its
  review date fails too. A vulnerability database that does not answer is said in one
  line and does not fail: this check fails on findings, never on the network.
- bandit over the sources, tests left out ([tool.bandit] in pyproject.toml): a HIGH fails.
- A CycloneDX SBOM of uv.lock (the images carry their own: deploy/images/app.Containerfile).

Everything lands in build/audit/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from journey_cli.devstack.processes import StackError
from journey_platform.settings import find_schemas_dir

SOURCES = ("libs", "services", "cli/src")
WAIVERS = Path("deploy/audit/waivers.toml")
WAIVER_FIELDS = {"id": str, "package": str, "reason": str, "review_by": date}
# What pip-audit's error says when its vulnerability service cannot be reached.
UNREACHABLE = ("ConnectionError", "Failed to resolve", "timed out", "Max retries exceeded")


@dataclass(frozen=True)
class Waiver:
    id: str
    package: str
    reason: str
    review_by: date


@dataclass(frozen=True)
class Vulnerability:
    package: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fixed_in: tuple[str, ...]
    pinned_in: str  # "uv.lock", or the deploy/local tool whose requirements.txt pins it

    def waived_by(self, waiver: Waiver) -> bool:
        return waiver.package == self.package and waiver.id in {self.id, *self.aliases}


def load_waivers(path: Path) -> list[Waiver]:
    """The waivers in `path`; a malformed one raises, saying which field is wrong."""
    waivers = []
    for n, entry in enumerate(tomllib.loads(path.read_text()).get("waiver", []), 1):
        for field, kind in WAIVER_FIELDS.items():
            if not isinstance(entry.get(field), kind) or not entry[field]:
                raise StackError(
                    f"{path}: waiver {n} needs {field} ({kind.__name__}; review_by is a "
                    "TOML date such as 2027-01-31)"
                )
        waivers.append(Waiver(**{field: entry[field] for field in WAIVER_FIELDS}))
    return waivers


def vulnerabilities(
    report: dict[str, Any], pinned_in: str
) -> tuple[list[Vulnerability], list[str]]:
    """pip-audit's JSON report: the vulnerabilities found, and why packages went unaudited."""
    found, skipped = [], []
    for dependency in report["dependencies"]:
        if "skip_reason" in dependency:
            skipped.append(dependency["skip_reason"])
        for vulnerability in dependency.get("vulns", []):
            found.append(
                Vulnerability(
                    dependency["name"],
                    dependency["version"],
                    vulnerability["id"],
                    tuple(vulnerability.get("aliases", [])),
                    tuple(vulnerability.get("fix_versions", [])),
                    pinned_in,
                )
            )
    return found, skipped


def judge(found: list[Vulnerability], waivers: list[Waiver], today: date) -> list[str]:
    """One line per problem: each vulnerability no waiver covers, each waiver past its date."""
    problems = [
        f"waiver {w.id} ({w.package}) was to be reviewed by {w.review_by}: fix, renew or "
        f"remove it in {WAIVERS}"
        for w in waivers
        if w.review_by < today
    ]
    for v in found:
        if any(v.waived_by(w) for w in waivers):
            continue
        upgrade = (
            f"uv lock --upgrade-package {v.package}"
            if v.pinned_in == "uv.lock"
            else f"recompile deploy/local/{v.pinned_in}/requirements.txt as its head says"
        )
        fix = f"fixed in {', '.join(v.fixed_in)}: {upgrade}" if v.fixed_in else "no fix yet"
        problems.append(
            f"{v.package} {v.version}: {v.id} ({', '.join(v.aliases) or 'no alias'}); {fix}; "
            f"or waive it in {WAIVERS} with a reason and a review_by date"
        )
    return problems


def run(args: argparse.Namespace) -> int:
    root = find_schemas_dir().parent
    out = root / "build" / "audit"
    out.mkdir(parents=True, exist_ok=True)
    uv = shutil.which("uv")
    if uv is None:
        raise StackError("uv is needed to read uv.lock: pip install uv")
    waivers = load_waivers(root / WAIVERS)
    found, problems = _pip_audit(uv, root, out)
    problems += judge(found, waivers, datetime.now(UTC).date())
    problems += _bandit(root, out)
    _sbom(uv, root, out)
    for problem in problems:
        print(f"audit: {problem}")
    print(f"audit: {'failed, ' + str(len(problems)) + ' problems' if problems else 'passed'}")
    return 1 if problems else 0


def _pip_audit(uv: str, root: Path, out: Path) -> tuple[list[Vulnerability], list[str]]:
    """The vulnerabilities found, and problems: pip-audit failing other than unreachable.

    One run per file: the lock and a tool may pin the same package at other versions."""
    lock = out / "requirements.txt"
    _uv_export(uv, root, "requirements-txt", lock, "--no-emit-workspace")
    files = {"uv.lock": lock}
    for tool in sorted((root / "deploy" / "local").glob("*/requirements.txt")):
        files[tool.parent.name] = tool
    found: list[Vulnerability] = []
    problems, unaudited = [], []
    audited = Counter[str]()
    runs = {}
    for name, file in files.items():  # at once: each waits on the network, not the CPU
        report_file = out / f"pip-audit-{name}.json"
        report_file.unlink(missing_ok=True)
        command = [sys.executable, "-m", "pip_audit", "--disable-pip", "--no-deps", "-r", str(file)]
        command += ["--progress-spinner", "off", "--format", "json", "-o", str(report_file)]
        runs[name] = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=root
        )
    for name, run in runs.items():
        _, stderr = run.communicate()
        report_file = out / f"pip-audit-{name}.json"
        if not report_file.exists():
            last = (stderr.strip().splitlines() or ["no output"])[-1][:300]
            if any(sign in stderr for sign in UNREACHABLE):
                unaudited.append(f"{name}: {last}")
            else:
                problems.append(f"pip-audit failed on {name}: {last}")
            continue
        report = json.loads(report_file.read_text())
        in_file, skipped = vulnerabilities(report, name)
        found += in_file
        audited[name] = len(report["dependencies"]) - len(skipped)
        unaudited += [f"{name}: {reason}" for reason in skipped]
    print(
        f"pip-audit: {audited.total()} packages audited "
        f"({', '.join(f'{name} {n}' for name, n in audited.items())}), "
        f"{len(found)} known vulnerabilities"
    )
    if unaudited:
        print(
            f"pip-audit: WARNING {len(unaudited)} packages NOT audited: the vulnerability "
            f"database did not answer for them (first: {unaudited[0]}; a PyPI mirror without "
            "the JSON API answers every package 'not found'); run `make audit` where it does"
        )
    return found, problems


def _bandit(root: Path, out: Path) -> list[str]:
    report_file = out / "bandit.json"
    command = [sys.executable, "-m", "bandit", "-c", "pyproject.toml", "-r", *SOURCES]
    command += ["--quiet", "--format", "json", "--output", str(report_file)]
    subprocess.run(command, capture_output=True, check=False, cwd=root)
    if not report_file.exists():
        return ["bandit wrote no report: run `uv run bandit -c pyproject.toml -r libs`"]
    report = json.loads(report_file.read_text())
    results = report["results"]
    by_severity = Counter(r["issue_severity"] for r in results)
    print(
        f"bandit: {report['metrics']['_totals']['loc']} lines, {len(results)} findings "
        f"(high {by_severity['HIGH']}, medium {by_severity['MEDIUM']}, low {by_severity['LOW']})"
    )
    for r in results:
        print(f"bandit: {r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}")
    problems = [f"bandit could not read {e['filename']}: {e['reason']}" for e in report["errors"]]
    return problems + [
        f"bandit HIGH {r['test_id']} at {r['filename']}:{r['line_number']}"
        for r in results
        if r["issue_severity"] == "HIGH"
    ]


def _sbom(uv: str, root: Path, out: Path) -> None:
    sbom = out / "sbom.cdx.json"
    _uv_export(uv, root, "cyclonedx1.5", sbom)
    components = len(json.loads(sbom.read_text())["components"])
    print(f"sbom: {components} components (CycloneDX 1.5) in {sbom.relative_to(root)}")


def _uv_export(uv: str, root: Path, form: str, to: Path, *options: str) -> None:
    command = [uv, "export", "--frozen", "--all-packages", "--all-groups", "--format", form]
    result = subprocess.run(
        [*command, *options, "--quiet", "-o", str(to)],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
    )
    if result.returncode != 0:
        raise StackError(f"uv export failed:\n{result.stderr[-2000:]}")
