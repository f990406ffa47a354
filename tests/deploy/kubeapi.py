"""A small client of the Kubernetes API for the deployment tests: httpx, the admin token and
discovery, nothing more (kubectl is not on this machine, and the `kubernetes` package is
not in the lock).

Objects are the dicts `helm get manifest` renders; discovery maps each apiVersion and kind
to the resource path the server serves it under.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from journey_cli.devstack.kube import LocalKube

Obj = dict[str, Any]
RETRY_FOR = 30.0  # seconds of 429 answers before one is handed back


@dataclass(frozen=True)
class Resource:
    group_version: str  # "v1", "apps/v1"
    kind: str  # "Deployment"
    plural: str  # "deployments"
    namespaced: bool
    verbs: frozenset[str]

    def path(self, *, namespace: str | None, name: str | None = None) -> str:
        base = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        if self.namespaced:
            if not namespace:
                raise ValueError(f"{self.plural} are namespaced: give a namespace")
            base += f"/namespaces/{namespace}"
        return f"{base}/{self.plural}" + (f"/{name}" if name else "")


@dataclass
class KubeApi:
    kube: LocalKube
    _client: httpx.Client = field(init=False)
    _resources: dict[tuple[str, str], Resource] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        context = ssl.create_default_context(cafile=str(self.kube.pki.ca_cert))
        self._client = httpx.Client(
            base_url=self.kube.url,
            headers={"Authorization": f"Bearer {self.kube.admin_token()}"},
            verify=context,
            timeout=30,
        )

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, repeated while the server answers 429: it does so for a custom
        resource until the API server has set up its storage (moments after a start or
        a new CRD), and when it sheds load."""
        deadline = time.monotonic() + RETRY_FOR
        while True:
            response = self._client.request(method, path, **kwargs)
            if response.status_code != 429 or time.monotonic() > deadline:
                return response
            time.sleep(min(float(response.headers.get("retry-after", 1)), 1.0))

    def resource(self, api_version: str, kind: str) -> Resource:
        """Where the server serves `kind` of `api_version` (discovery, cached)."""
        if (api_version, kind) not in self._resources:
            self._discover(api_version)
        try:
            return self._resources[(api_version, kind)]
        except KeyError:
            raise LookupError(f"the API server serves no {kind} in {api_version}") from None

    def forget_discovery(self) -> None:
        """Discover again on next use (CRDs were added or removed)."""
        self._resources.clear()

    def served_resources(self) -> Iterator[Resource]:
        """Every namespaced resource that can be listed, in every served group version."""
        versions = ["v1"]
        for group in self.request("GET", "/apis").raise_for_status().json()["groups"]:
            versions += [v["groupVersion"] for v in group["versions"]]
        for version in versions:
            self._discover(version)
        seen: set[tuple[str, str]] = set()
        for resource in self._resources.values():
            key = (resource.group_version, resource.plural)
            if resource.namespaced and "list" in resource.verbs and key not in seen:
                seen.add(key)
                yield resource

    def _discover(self, api_version: str) -> None:
        path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        response = self.request("GET", path)
        if response.status_code == 404:
            return
        for item in response.raise_for_status().json()["resources"]:
            if "/" in item["name"]:  # a subresource such as deployments/status
                continue
            self._resources[(api_version, item["kind"])] = Resource(
                api_version,
                item["kind"],
                item["name"],
                item["namespaced"],
                frozenset(item["verbs"]),
            )

    def path_of(self, obj: Obj, *, namespace: str) -> str:
        resource = self.resource(obj["apiVersion"], obj["kind"])
        ns = obj["metadata"].get("namespace", namespace) if resource.namespaced else None
        return resource.path(namespace=ns, name=obj["metadata"]["name"])

    def get(self, obj: Obj, *, namespace: str) -> Obj | None:
        """The stored object, or None if the server has no such object."""
        response = self.request("GET", self.path_of(obj, namespace=namespace))
        if response.status_code == 404:
            return None
        result: Obj = response.raise_for_status().json()
        return result

    def create(self, obj: Obj, *, namespace: str | None, dry_run: bool = False) -> httpx.Response:
        """POST `obj`; the response as it is, refused or not (the caller asserts)."""
        resource = self.resource(obj["apiVersion"], obj["kind"])
        path = resource.path(namespace=namespace if resource.namespaced else None)
        params = {"dryRun": "All"} if dry_run else {}
        return self.request("POST", path, json=obj, params=params)

    def delete(self, path: str) -> None:
        response = self.request("DELETE", path)
        if response.status_code != 404:
            response.raise_for_status()

    def list(self, resource: Resource, *, namespace: str, selector: str = "") -> list[Obj]:
        params = {"labelSelector": selector} if selector else {}
        response = self.request("GET", resource.path(namespace=namespace), params=params)
        items: list[Obj] = response.raise_for_status().json()["items"]
        return items

    def merge_patch(self, path: str, patch: Obj) -> Obj:
        response = self.request(
            "PATCH", path, json=patch, headers={"Content-Type": "application/merge-patch+json"}
        )
        result: Obj = response.raise_for_status().json()
        return result
