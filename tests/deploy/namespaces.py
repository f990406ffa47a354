"""Namespaces for the deployment tests on the devstack's API server, and what an operator
has there before installing the chart: its Secrets and ConfigMaps, and the CRDs of the
operators it can target (Strimzi, the Prometheus Operator)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from tests.deploy.admission import referenced
from tests.deploy.kubeapi import KubeApi, Obj
from tests.deploy.releases import wait_for

POD_SECURITY_RESTRICTED = {
    f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")
}
Owned = set[tuple[str, str]]  # (kind, name)
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def new_namespace(api: KubeApi, *, labels: dict[str, str]) -> str:
    """A namespace for one test, with the `default` ServiceAccount that the controller
    manager would add (admission looks a pod's account up; the migrations hook uses it)."""
    name = f"deploy-test-{uuid.uuid4().hex[:8]}"
    metadata = {"name": name, "labels": labels}
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}
    api.create(namespace, namespace=None).raise_for_status()
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}
    api.create(account, namespace=name).raise_for_status()
    return name


def remove_namespace(api: KubeApi, name: str) -> None:
    """Empty it, delete it and finalize it by hand: no namespace controller runs here."""
    for resource in api.served_resources():
        for item in api.list(resource, namespace=name):
            api.delete(resource.path(namespace=name, name=item["metadata"]["name"]))
    api.delete(f"/api/v1/namespaces/{name}")
    finalize = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    finalize["spec"] = {"finalizers": []}
    api.request("PUT", f"/api/v1/namespaces/{name}/finalize", json=finalize)


def create_referenced_objects(api: KubeApi, namespace: str, rendered: list[Obj]) -> Owned:
    """The Secrets and ConfigMaps the chart's pods name, with made-up values; with the
    namespace's `default` ServiceAccount, what the test itself owns there."""
    owned: Owned = {("ServiceAccount", "default")}
    for kind, field in (("Secret", "data"), ("ConfigMap", "binaryData")):
        for name, keys in sorted(referenced(rendered, kind).items()):
            value = base64.b64encode(b"made up by tests/deploy").decode()
            obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}
            obj[field] = {key: value for key in keys or {"value"}}
            api.create(obj, namespace=namespace).raise_for_status()
            owned.add((kind, name))
    return owned


# The cluster's record of what happened, not anything a release made or owns: the
# apiserver's own loops may write one about an object of the release at any moment (a CI
# run met one about the referral's objects after the uninstall), and they expire by
# themselves (an hour by default).
NOT_OWNED = frozenset({"Event"})


def leftovers(api: KubeApi, namespace: str) -> Owned:
    """Every object in the namespace, of every kind the server serves but Events."""
    return {
        (resource.kind, item["metadata"]["name"])
        for resource in api.served_resources()
        if resource.kind not in NOT_OWNED
        for item in api.list(resource, namespace=namespace)
    }


@contextmanager
def stand_in_crds(api: KubeApi, rendered: list[Obj]) -> Iterator[list[str]]:
    """A schemaless CRD for each kind the chart renders that the server does not serve
    (KafkaTopic, ServiceMonitor, PrometheusRule), as their operators would install; removed
    afterwards. The objects are then admitted and stored, though not checked by a schema."""
    made: list[str] = []
    try:
        for api_version, kind in sorted({(o["apiVersion"], o["kind"]) for o in rendered}):
            if not _served(api, api_version, kind):
                crd = _schemaless_crd(api_version, kind)
                api.create(crd, namespace=None).raise_for_status()
                path = f"{CRDS}/{crd['metadata']['name']}"
                made.append(path)
                wait_for(partial(_established, api, path), timeout=30, what=f"{kind} established")
        api.forget_discovery()
        yield made
    finally:
        for path in made:
            api.delete(path)
        # Its objects are removed first (by the API server itself), then the CRD.
        wait_for(
            lambda: all(api.request("GET", p).status_code == 404 for p in made),
            timeout=60,
            what="stand-in CRDs deleted",
        )
        api.forget_discovery()


def _served(api: KubeApi, api_version: str, kind: str) -> bool:
    try:
        api.resource(api_version, kind)
    except LookupError:
        return False
    return True


def _schemaless_crd(api_version: str, kind: str) -> Obj:
    group, version = api_version.split("/")
    plural = kind.lower() + "s"
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


def _established(api: KubeApi, path: str) -> bool:
    conditions = api.request("GET", path).json().get("status", {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)
