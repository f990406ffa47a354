"""Strict, offline validation of rendered Kubernetes objects.

Run with the Python of the kubernetes-validate environment (deploy/local/kubernetes-validate,
built by journey_cli.devstack.pytools): it reads rendered manifests (YAML, many documents)
from the files named, and prints one JSON line per object:

    {"kind": ..., "name": ..., "result": "valid" | "invalid" | "no-schema", "error": ...}

Built-in kinds are checked against kubernetes-validate's bundled OpenAPI schemas of the
Kubernetes version given, in strict mode (an unknown field is an error). Custom resources
(ServiceMonitor, PrometheusRule, KafkaTopic) have no bundled schema; they are checked
against the hand-written schemas in deploy/helm/schemas/, closed the same way. A kind with
neither is reported "no-schema", which the tests count as a failure.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

CRD_SCHEMAS = Path(__file__).parent / "schemas"


def crd_schema(obj: dict[str, Any]) -> Path:
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", obj["apiVersion"])
    return CRD_SCHEMAS / f"{obj['kind'].lower()}-{group_version}.json"


def check(obj: dict[str, Any], version: str) -> dict[str, Any]:
    found = {"kind": obj.get("kind"), "name": obj.get("metadata", {}).get("name")}
    try:
        kubernetes_validate.validate(obj, version, strict=True)
        return found | {"result": "valid", "schema": f"kubernetes {version} strict"}
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(part) for part in error.path)
        return found | {"result": "invalid", "error": f"{path}: {error.message}"}
    except kubernetes_validate.SchemaNotFoundError:
        pass
    schema = crd_schema(obj)
    if not schema.is_file():
        return found | {"result": "no-schema", "error": f"no bundled schema and no {schema.name}"}
    try:
        jsonschema.Draft202012Validator(json.loads(schema.read_text())).validate(obj)
    except jsonschema.ValidationError as error:
        path = ".".join(str(part) for part in error.path)
        return found | {"result": "invalid", "error": f"{path}: {error.message}"}
    return found | {"result": "valid", "schema": schema.name}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubernetes-version", required=True)
    parser.add_argument("manifests", nargs="+", type=Path)
    args = parser.parse_args()
    failed = 0
    for manifest in args.manifests:
        for obj in yaml.safe_load_all(manifest.read_text()):
            if not obj:
                continue
            result = check(obj, args.kubernetes_version)
            failed += result["result"] != "valid"
            print(json.dumps(result | {"file": str(manifest)}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
