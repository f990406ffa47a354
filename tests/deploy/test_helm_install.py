"""The Helm chart on a real Kubernetes API server (the devstack's etcd and kube-apiserver):
installed into a namespace that enforces the restricted Pod Security Standard, upgraded
with changed values, and uninstalled without leaving anything behind.

Only the API server runs, so what is proven is admission: every object the chart renders
is authenticated, authorised (RBAC), admitted (PodSecurity included), validated and stored
by the real server. No controller makes pods from the workloads, and PodSecurity only
warns about a workload's pod template, so each template is also sent as a Pod in a
server-side dry run, where the standard is enforced; a test beside it checks that the
namespace really refuses a pod that breaks it. The chart's hook Job (the migrations) is
marked succeeded by the test, as the Job controller would, since helm waits for it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from journey_cli.devstack.kube import LocalKube
from journey_platform.settings import find_schemas_dir
from tests.deploy.admission import assert_pods_admitted
from tests.deploy.conftest import timed_build
from tests.deploy.kubeapi import KubeApi, Obj
from tests.deploy.namespaces import (
    POD_SECURITY_RESTRICTED,
    Owned,
    create_referenced_objects,
    leftovers,
    new_namespace,
    remove_namespace,
    stand_in_crds,
)
from tests.deploy.releases import Helm, jobs_completed, wait_for

CHART = find_schemas_dir().parent / "deploy" / "helm" / "victim-journey"
DEFAULT_VALUES = CHART / "ci" / "default-values.yaml"
# With no scenario at all, the default one's absence fails the test instead of skipping it.
SCENARIOS = sorted((CHART / "ci").glob("*-values.yaml")) or [DEFAULT_VALUES]
RELEASE = "journey"


@pytest.fixture(scope="module")
def helm(kube: LocalKube, say: Callable[[str], None]) -> Helm:
    """HELM names a helm to use; otherwise the one deploy/local/helm pins, built once."""
    named = os.environ.get("HELM")
    return Helm(Path(named) if named else timed_build("helm", say), kube)


@pytest.fixture
def restricted_namespace(api: KubeApi) -> Iterator[str]:
    name = new_namespace(api, labels=POD_SECURITY_RESTRICTED)
    yield name
    remove_namespace(api, name)


@dataclass(frozen=True)
class Release:
    manifest: list[Obj]  # helm get manifest
    hooks: list[Obj]  # helm get hooks
    own: Owned  # what the test made in the namespace for it


def install(helm: Helm, api: KubeApi, ns: str, values: Path, say: Callable[[str], None]) -> Release:
    """Install the chart as an operator would, its Secrets and ConfigMaps made first; every
    rendered object stored, every pod it would make admitted."""
    assert values.exists(), f"no {values.relative_to(CHART)} in the chart"
    rendered = helm.template(CHART, values, release=RELEASE, namespace=ns)
    own = create_referenced_objects(api, ns, rendered)
    started = time.monotonic()
    with jobs_completed(api, ns) as hook_jobs:
        installed = helm(
            "install", RELEASE, str(CHART), "-n", ns, "-f", str(values), "--timeout", "3m"
        )
    # Warnings the server sent (PodSecurity's about a pod template, deprecations).
    assert "PodSecurity" not in installed.stderr, installed.stderr
    assert "deprecated" not in installed.stderr, installed.stderr

    manifest = helm.objects("get", "manifest", RELEASE, "-n", ns)
    hooks = helm.objects("get", "hooks", RELEASE, "-n", ns)
    missing = [
        f"{o['kind']}/{o['metadata']['name']}" for o in manifest if api.get(o, namespace=ns) is None
    ]
    assert not missing, f"rendered but not stored: {missing}"
    pods = assert_pods_admitted(api, ns, manifest + hooks)
    say(
        f"{values.name}: helm install {time.monotonic() - started:.1f}s, {len(manifest)} "
        f"objects stored ({', '.join(sorted({o['kind'] for o in manifest}))}), "
        f"{len(hooks)} hooks (Jobs completed: {hook_jobs}), {pods} pod templates admitted"
    )
    return Release(manifest, hooks, own)


def uninstall(helm: Helm, api: KubeApi, ns: str, released: list[Obj], own: Owned) -> None:
    """Every object of the release gone, hooks included, but those it asks helm to keep
    (`helm.sh/resource-policy: keep`: Kafka topics hold data); nothing else left in the
    namespace but what the test made."""
    kept = [o for o in released if _keep(o)]
    gone = [o for o in released if not _keep(o)]
    helm("uninstall", RELEASE, "-n", ns, "--wait", "--timeout", "2m")
    wait_for(
        lambda: not [o for o in gone if api.get(o, namespace=ns) is not None],
        timeout=60,
        what="every object of the release deleted",
        still=lambda: [_name(o) for o in gone if api.get(o, namespace=ns) is not None],
    )
    assert leftovers(api, ns) == own | {(o["kind"], o["metadata"]["name"]) for o in kept}


def _keep(obj: Obj) -> bool:
    annotations = obj["metadata"].get("annotations") or {}
    return bool(annotations.get("helm.sh/resource-policy") == "keep")


def _name(obj: Obj) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


@pytest.mark.parametrize("values", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_each_ci_scenario_installs_and_uninstalls_in_a_restricted_namespace(
    api: KubeApi,
    helm: Helm,
    restricted_namespace: str,
    values: Path,
    say: Callable[[str], None],
) -> None:
    rendered = helm.template(CHART, values, release=RELEASE, namespace=restricted_namespace)
    with stand_in_crds(api, rendered):
        release = install(helm, api, restricted_namespace, values, say)
        released = release.manifest + release.hooks
        uninstall(helm, api, restricted_namespace, released, release.own)


def test_an_upgrade_with_changed_values_changes_the_stored_objects(
    api: KubeApi, helm: Helm, restricted_namespace: str, say: Callable[[str], None]
) -> None:
    ns = restricted_namespace
    values = DEFAULT_VALUES
    release = install(helm, api, ns, values, say)
    referral = deployment_of(release.manifest, "referral")
    assert any(hpa_of(release.manifest, referral)), "default values autoscale the APIs"

    # The referral API: autoscaling off, three replicas, one more environment variable.
    change = [
        "--set",
        "referral.autoscaling.enabled=false",
        "--set",
        "referral.replicaCount=3",
        "--set-json",
        'referral.extraEnv=[{"name": "UPGRADE_CHECK", "value": "changed"}]',
    ]
    with jobs_completed(api, ns) as hook_jobs:
        helm(
            "upgrade", RELEASE, str(CHART), "-n", ns, "-f", str(values), *change, "--timeout", "3m"
        )
    status = json.loads(helm("status", RELEASE, "-n", ns, "-o", "json").stdout)
    assert (status["version"], status["info"]["status"]) == (2, "deployed")
    assert hook_jobs, "the migrations hook ran again before the upgrade"

    upgraded = helm.objects("get", "manifest", RELEASE, "-n", ns)
    stored = api.get(deployment_of(upgraded, "referral"), namespace=ns)
    assert stored is not None
    assert stored["spec"]["replicas"] == 3
    (container,) = stored["spec"]["template"]["spec"]["containers"]
    assert {"name": "UPGRADE_CHECK", "value": "changed"} in container["env"]
    # Its HorizontalPodAutoscaler went with autoscaling; the other APIs keep theirs.
    (hpa,) = hpa_of(release.manifest, referral)
    assert api.get(hpa, namespace=ns) is None
    assert not any(hpa_of(upgraded, referral))
    assert any(hpa_of(upgraded, deployment_of(upgraded, "support")))
    assert_pods_admitted(api, ns, upgraded)
    say(f"helm upgrade: revision 2, hooks completed again: {hook_jobs}")

    released = release.manifest + upgraded + helm.objects("get", "hooks", RELEASE, "-n", ns)
    uninstall(helm, api, ns, released, release.own)


def deployment_of(manifest: list[Obj], component: str) -> Obj:
    (deployment,) = (
        o
        for o in manifest
        if o["kind"] == "Deployment"
        and o["metadata"]["labels"].get("app.kubernetes.io/component") == component
    )
    return deployment


def hpa_of(manifest: list[Obj], deployment: Obj) -> list[Obj]:
    return [
        o
        for o in manifest
        if o["kind"] == "HorizontalPodAutoscaler"
        and o["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    ]


def test_the_namespace_refuses_a_pod_that_breaks_the_restricted_standard(api: KubeApi) -> None:
    """The installs above mean something only if such a namespace enforces: a privileged
    pod is refused there, and admitted where no standard is enforced."""
    restricted = new_namespace(api, labels=POD_SECURITY_RESTRICTED)
    open_namespace = new_namespace(api, labels={})
    container = {"name": "root", "image": "example.org/root:1"}
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "breaks-restricted"},
        "spec": {"containers": [{**container, "securityContext": {"privileged": True}}]},
    }
    try:
        refused = api.create(pod, namespace=restricted, dry_run=True)
        assert refused.status_code == 403, refused.text
        message = refused.json()["message"]
        assert 'violates PodSecurity "restricted:latest"' in message
        assert "privileged" in message

        admitted = api.create(pod, namespace=open_namespace, dry_run=True)
        assert admitted.status_code == 201, admitted.text
    finally:
        remove_namespace(api, restricted)
        remove_namespace(api, open_namespace)
