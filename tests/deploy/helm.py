"""The chart's tools for the deploy tests: helm, checkov and kubernetes-validate, built or
installed once per user (journey_cli.devstack.gotools / pytools), and rendering."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from journey_cli.devstack.gotools import built_tool
from journey_cli.devstack.pytools import python_tool
from tests.deploy.admission import pod_templates

ROOT = Path(__file__).resolve().parents[2]
HELM_DIR = ROOT / "deploy" / "helm"
CHART = HELM_DIR / "victim-journey"
SCENARIOS = sorted(
    p.name.removesuffix("-values.yaml") for p in (CHART / "ci").glob("*-values.yaml")
)
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest that
# kubernetes-validate 1.37 ships schemas for (the kube-apiserver the install test builds).
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
NAMESPACE = "journeys"


@dataclass(frozen=True)
class Tools:
    helm: Path
    checkov: Path
    validator_python: Path
    seconds: dict[str, float]  # how long each took to find, build or install


def tools() -> Tools:
    seconds = {}
    started = time.perf_counter()
    helm = built_tool("helm")
    seconds["helm"] = time.perf_counter() - started
    found = {}
    for name in ("kubernetes-validate", "checkov"):
        started = time.perf_counter()
        found[name] = python_tool(name)
        seconds[name] = time.perf_counter() - started
    return Tools(
        helm,
        found["checkov"],
        found["kubernetes-validate"].with_name("python"),
        seconds,
    )


def run(command: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        **kwargs,
    )


def values_file(scenario: str) -> Path:
    return CHART / "ci" / f"{scenario}-values.yaml"


def render(helm: Path, *values: Path, sets: tuple[str, ...] = ()) -> str:
    command: list[str | Path] = [helm, "template", "journeys", CHART, "--namespace", NAMESPACE]
    for path in values:
        command += ["--values", path]
    for assignment in sets:
        command += ["--set", assignment]
    result = run(command)
    assert result.returncode == 0, result.stderr
    return result.stdout


def objects(manifest: str) -> list[dict[str, Any]]:
    return [obj for obj in yaml.safe_load_all(manifest) if obj]


def pod_specs(rendered: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind/name, pod spec) of every object that makes pods."""
    for owner, template in pod_templates(rendered):
        yield f"{owner['kind']}/{owner['metadata']['name']}", template["spec"]


def checkov_environment(helm: Path) -> dict[str, str]:
    """checkov finds helm on PATH; it must not try to reach its vendor's API."""
    return os.environ | {
        "PATH": f"{helm.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "BC_SKIP_MAPPING": "TRUE",
        "CHECKOV_NO_OUTPUT_FILES": "TRUE",
    }
