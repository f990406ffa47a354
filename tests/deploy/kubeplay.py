"""The chart's rendered workloads as `podman kube play` (Debian's podman 4.3) takes them,
and the kubelet's probes run by hand.

What podman 4.3 cannot take, and what stands in for it here (deploy/helm/README.md says
the same to operators):
- StatefulSet is not a kind it knows: each replica becomes a Pod named as the StatefulSet
  would name it (`<name>-<ordinal>`), its volumeClaimTemplate an emptyDir.
- Job is not either: the migrations hook's pod template becomes a Pod that runs once.
- `kind: Secret` in the YAML is stored but then read back as JSON and refused; a podman
  secret holding a JSON object of base64 values is what `secretKeyRef` reads, so the
  Secrets are podman secrets (`secret_json`). A `secret` volume makes it panic (a nil
  secrets manager in VolumeFromSecret): no JWKS or Kafka CA from a Secret file.
- It publishes every containerPort on the host, as the same port unless hostPort says
  otherwise (podman 5 publishes only hostPorts): two pods with a `metrics` port 9464
  collide. `with_host_ports` gives each containerPort a free hostPort.
- Without systemd it runs no probes (liveness becomes a healthcheck with no timer;
  readiness and startup are dropped): `probe` runs each as the kubelet would, httpGet
  and tcpSocket from the host to the pod's address, exec inside the container.
"""

from __future__ import annotations

import base64
import copy
import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx

from journey_cli.images.engine import Engine

Manifest = dict[str, Any]


def secret_json(data: dict[str, str]) -> bytes:
    """A podman secret's content that kube play reads as a Kubernetes Secret's `data`."""
    return json.dumps({k: base64.b64encode(v.encode()).decode() for k, v in data.items()}).encode()


def playable(rendered: list[Manifest]) -> list[Manifest]:
    """The Deployments as they are, and each StatefulSet's replicas as Pods."""
    out: list[Manifest] = []
    for obj in rendered:
        if obj["kind"] == "Deployment":
            out.append(obj)
        elif obj["kind"] == "StatefulSet":
            out += statefulset_pods(obj)
    return out


def with_host_ports(manifests: list[Manifest], free: Iterator[int]) -> list[Manifest]:
    """The manifests with a distinct hostPort on every containerPort."""
    out = copy.deepcopy(manifests)
    for manifest in out:
        # A Deployment's replicas would share them, and all but one fail to start.
        assert len(pod_names(manifest)) == 1, f"{manifest['metadata']['name']}: one replica"
        for container in pod_spec(manifest)["containers"]:
            for declared in container.get("ports", []):
                declared["hostPort"] = next(free)
    return out


def statefulset_pods(statefulset: Manifest) -> list[Manifest]:
    name = statefulset["metadata"]["name"]
    template = statefulset["spec"]["template"]
    claims = [c["metadata"]["name"] for c in statefulset["spec"].get("volumeClaimTemplates", [])]
    pods = []
    for ordinal in range(statefulset["spec"].get("replicas", 1)):
        spec = copy.deepcopy(template["spec"])
        spec["volumes"] = [*spec.get("volumes", []), *({"name": c, "emptyDir": {}} for c in claims)]
        pods.append(pod(f"{name}-{ordinal}", template["metadata"].get("labels", {}), spec))
    return pods


def job_pod(job: Manifest) -> Manifest:
    template = job["spec"]["template"]
    return pod(job["metadata"]["name"], template["metadata"].get("labels", {}), template["spec"])


def pod(name: str, labels: dict[str, str], spec: dict[str, Any]) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": copy.deepcopy(spec),
    }


def pod_names(manifest: Manifest) -> list[str]:
    """The pods podman makes of a manifest: a Deployment's are `<name>-pod-<replica>`."""
    name: str = manifest["metadata"]["name"]
    if manifest["kind"] != "Deployment":
        return [name]
    # No replicas (the chart leaves them to the HorizontalPodAutoscaler): one, as in Kubernetes.
    return [f"{name}-pod-{i}" for i in range(manifest["spec"].get("replicas", 1))]


def pod_spec(manifest: Manifest) -> dict[str, Any]:
    if manifest["kind"] == "Deployment":
        manifest = manifest["spec"]["template"]
    spec: dict[str, Any] = manifest["spec"]
    return spec


def pod_address(engine: Engine, pod: str, network: str) -> str:
    details = json.loads(engine.run("pod", "inspect", pod).stdout)
    if isinstance(details, list):  # podman 4.3 answers one object, later ones a list
        [details] = details
    infra = details["InfraContainerID"]
    address = engine.run(
        "container",
        "inspect",
        "--format",
        f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}',
        infra,
    )
    return address.stdout.decode().strip()


def probe(
    engine: Engine, container_name: str, address: str, container: dict[str, Any], kind: str
) -> str | None:
    """Run the container's `kind` probe (readinessProbe, livenessProbe) once, as the kubelet
    would; None when it passes, else why not."""
    spec = container[kind]
    timeout = float(spec.get("timeoutSeconds", 1))
    try:
        if "httpGet" in spec:
            url = f"http://{address}:{port(container, spec['httpGet']['port'])}"
            response = httpx.get(url + spec["httpGet"].get("path", "/"), timeout=timeout)
            # The kubelet's rule: 200-399 passes.
            return None if 200 <= response.status_code < 400 else f"HTTP {response.status_code}"
        if "tcpSocket" in spec:
            with socket.create_connection(
                (address, port(container, spec["tcpSocket"]["port"])), timeout=timeout
            ):
                return None
        if "exec" in spec:
            ran = engine.run("exec", container_name, *spec["exec"]["command"], check=False)
            return None if ran.returncode == 0 else f"exit {ran.returncode}: {ran.stderr[-300:]!r}"
    except (OSError, httpx.HTTPError) as error:
        return f"{type(error).__name__}: {error}"
    raise AssertionError(f"{container_name}: a {kind} this test cannot run: {spec}")


def port(container: dict[str, Any], named: int | str) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(named, int):
        return named
    for declared in container.get("ports", []):
        if declared.get("name") == named:
            return int(declared["containerPort"])
    raise AssertionError(f"{container['name']} declares no port named {named}")
