"""What the tests read from a release's objects: the pods they would make, and the Secrets
and ConfigMaps those pods name (the chart takes them by reference)."""

from __future__ import annotations

from collections.abc import Iterator

from tests.deploy.kubeapi import KubeApi, Obj

POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


def pod_templates(objects: list[Obj]) -> Iterator[tuple[Obj, Obj]]:
    """(owner, pod template) for every object that makes pods."""
    for obj in objects:
        kind = obj["kind"]
        if kind in POD_TEMPLATE_KINDS:
            yield obj, obj["spec"]["template"]
        elif kind == "CronJob":
            yield obj, obj["spec"]["jobTemplate"]["spec"]["template"]
        elif kind == "Pod":
            yield obj, {"metadata": obj.get("metadata", {}), "spec": obj["spec"]}


def referenced(objects: list[Obj], kind: str) -> dict[str, set[str]]:
    """Name -> keys read, of each Secret or ConfigMap (`kind`) that pod templates name and
    the objects do not hold. No keys: read whole (envFrom, a volume without items)."""
    ref_key, env_from, volume_kind, volume_name = {
        "Secret": ("secretKeyRef", "secretRef", "secret", "secretName"),
        "ConfigMap": ("configMapKeyRef", "configMapRef", "configMap", "name"),
    }[kind]
    found: dict[str, set[str]] = {}

    def need(name: str, items: list[Obj] | None = None, key: str | None = None) -> None:
        keys = found.setdefault(name, set())
        keys.update(item["key"] for item in items or ())
        if key:
            keys.add(key)

    for _, template in pod_templates(objects):
        spec = template["spec"]
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get(ref_key)
                if ref:
                    need(ref["name"], key=ref["key"])
            for source in container.get("envFrom", []):
                if env_from in source:
                    need(source[env_from]["name"])
        for volume in spec.get("volumes", []):
            if volume_kind in volume:
                need(volume[volume_kind][volume_name], volume[volume_kind].get("items"))
            for source in volume.get("projected", {}).get("sources", []):
                if volume_kind in source:
                    need(source[volume_kind]["name"], source[volume_kind].get("items"))
    held = {o["metadata"]["name"] for o in objects if o["kind"] == kind}
    return {name: keys for name, keys in found.items() if name not in held}


def dry_run_pod(owner: Obj, template: Obj) -> Obj:
    """The pod the owner's controller would make, for a server-side dry run of admission."""
    name = f"{owner['kind']}-{owner['metadata']['name']}".lower()[:63].rstrip("-")
    metadata = template.get("metadata", {})
    spec = dict(template["spec"])
    if owner["kind"] == "StatefulSet":
        # The StatefulSet controller adds a volume per claim template, claimed per pod.
        claims = owner["spec"].get("volumeClaimTemplates", [])
        spec["volumes"] = spec.get("volumes", []) + [
            {
                "name": claim["metadata"]["name"],
                "persistentVolumeClaim": {
                    "claimName": f"{claim['metadata']['name']}-{owner['metadata']['name']}-0"
                },
            }
            for claim in claims
        ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": metadata.get("labels", {}),
            "annotations": metadata.get("annotations", {}),
        },
        "spec": spec,
    }


def assert_pods_admitted(api: KubeApi, namespace: str, objects: list[Obj]) -> int:
    """Send each pod template as a Pod in a dry run (PodSecurity enforces on pods only):
    admitted, and without a warning. The number of templates."""
    count = 0
    for owner, template in pod_templates(objects):
        response = api.create(dry_run_pod(owner, template), namespace=namespace, dry_run=True)
        what = f"{owner['kind']} {owner['metadata']['name']}'s pod"
        assert response.status_code == 201, f"{what} is refused: {response.text}"
        assert not response.headers.get_list("warning"), (what, response.headers)
        count += 1
    return count
