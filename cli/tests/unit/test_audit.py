"""`journey audit`: which pip-audit findings fail the audit, and what the waivers file allows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from journey_cli.audit import WAIVERS, Waiver, judge, load_waivers, vulnerabilities
from journey_cli.devstack.processes import StackError
from journey_platform.settings import find_schemas_dir

TODAY = date(2026, 12, 1)
# pip-audit's JSON report (`--format json`): one package with a finding, one clean, and one
# the vulnerability service did not answer for.
REPORT = {
    "dependencies": [
        {
            "name": "jinja2",
            "version": "3.1.2",
            "vulns": [
                {
                    "id": "GHSA-h5c8-rqwp-cp95",
                    "fix_versions": ["3.1.3"],
                    "aliases": ["CVE-2024-22195"],
                    "description": "...",
                }
            ],
        },
        {"name": "fastapi", "version": "0.165.0", "vulns": []},
        {
            "name": "httpx",
            "skip_reason": "Dependency not found on PyPI and could not be audited: httpx (0.28)",
        },
    ],
    "fixes": [],
}


def waiver(id: str = "CVE-2024-22195", review_by: date = date(2027, 1, 31)) -> Waiver:
    return Waiver(id, "jinja2", "only the sandbox is affected; nothing here sandboxes", review_by)


def test_an_unwaived_vulnerability_fails_and_says_how_to_upgrade_or_waive() -> None:
    found, skipped = vulnerabilities(REPORT, "uv.lock")
    assert [(v.package, v.id) for v in found] == [("jinja2", "GHSA-h5c8-rqwp-cp95")]
    assert len(skipped) == 1 and "httpx" in skipped[0]
    [problem] = judge(found, [], TODAY)
    assert "jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (CVE-2024-22195)" in problem
    assert "uv lock --upgrade-package jinja2" in problem
    assert str(WAIVERS) in problem


def test_a_waiver_by_id_or_alias_lets_it_pass_until_its_review_date() -> None:
    found, _ = vulnerabilities(REPORT, "uv.lock")
    assert judge(found, [waiver()], TODAY) == []
    assert judge(found, [waiver("GHSA-h5c8-rqwp-cp95")], TODAY) == []
    assert judge(found, [waiver(review_by=TODAY)], TODAY) == []
    [expired] = judge(found, [waiver(review_by=date(2026, 11, 30))], TODAY)
    assert "was to be reviewed by 2026-11-30" in expired


def test_a_tools_vulnerability_says_to_recompile_its_requirements() -> None:
    found, _ = vulnerabilities(REPORT, "checkov")
    [problem] = judge(found, [], TODAY)
    assert "recompile deploy/local/checkov/requirements.txt" in problem


def test_a_waiver_for_another_package_waives_nothing() -> None:
    found, _ = vulnerabilities(REPORT, "uv.lock")
    other = Waiver("CVE-2024-22195", "markupsafe", "wrong package", date(2027, 1, 31))
    assert len(judge(found, [other], TODAY)) == 1


def test_a_waiver_without_a_reason_or_a_date_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "waivers.toml"
    path.write_text('[[waiver]]\nid = "CVE-1"\npackage = "x"\nreview_by = 2027-01-31\n')
    with pytest.raises(StackError, match="waiver 1 needs reason"):
        load_waivers(path)
    path.write_text('[[waiver]]\nid = "CVE-1"\npackage = "x"\nreason = "r"\nreview_by = "soon"\n')
    with pytest.raises(StackError, match="waiver 1 needs review_by"):
        load_waivers(path)


def test_the_repository_waivers_file_loads() -> None:
    load_waivers(find_schemas_dir().parent / WAIVERS)
