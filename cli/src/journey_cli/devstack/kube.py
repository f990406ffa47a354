"""A real Kubernetes API server without Docker: etcd and kube-apiserver, built from the Go
module proxy, for proving that the Helm chart installs (`make test-deploy`).

Only the API server and its store run: no controller manager, scheduler or kubelet. Objects
are admitted (authentication, RBAC, every default admission plugin including PodSecurity,
validation) and stored, but nothing acts on them: a Deployment makes no pods, a Job never
finishes on its own, and a deleted namespace stays Terminating (the namespace controller
would empty it). That is enough to prove what admission decides, which is the point.

It starts only when asked (`journey devstack up --kube`, or DEVSTACK_KUBE=1), and
`journey devstack down` stops it when it runs. The admin user authenticates with a static
token (group system:masters) under RBAC authorization; `.devstack/kube/kubeconfig` holds
the server, its CA and that token, for helm and anything else. Ports (each overridable):
the API server 16443 (DEVSTACK_KUBE_PORT), etcd 12379 and 12380 for its peer listener
(DEVSTACK_KUBE_ETCD_PORT, DEVSTACK_KUBE_ETCD_PEER_PORT), away from 6443/2379/2380 where
a real cluster on the machine may listen.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import ssl
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from journey_cli.devstack.gotools import built_tool
from journey_cli.devstack.kubepki import KubePki
from journey_cli.devstack.processes import (
    StackError,
    launch,
    port_open,
    read_pid,
    stop_process,
    wait_until,
)

# Service IPs are only allocated (written on Service objects), never routed: no kube-proxy.
SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"  # the first address: the `kubernetes` Service's
ADMIN_USER = "devstack-admin"


@dataclass(frozen=True)
class LocalKube:
    home: Path  # .devstack/kube
    port: int
    etcd_port: int
    etcd_peer_port: int

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def pki(self) -> KubePki:
        return KubePki(self.home / "pki")

    @property
    def kubeconfig(self) -> Path:
        return self.home / "kubeconfig"

    @property
    def token_file(self) -> Path:
        return self.home / "admin.token"

    @property
    def etcd_data(self) -> Path:
        return self.home / "etcd"

    def pid_file(self, program: str) -> Path:
        return self.home / f"{program}.pid"

    def log_file(self, program: str) -> Path:
        return self.home / f"{program}.log"

    def running(self) -> bool:
        return read_pid(self.pid_file("kube-apiserver")) is not None

    def admin_token(self) -> str:
        """The admin user's bearer token, made on first use and kept (owner-only file)."""
        if not self.token_file.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as out:
                out.write(secrets.token_urlsafe(32))
        return self.token_file.read_text().strip()

    def start(self) -> bool:
        """Start etcd and the API server unless they run; True if this call started them."""
        if self.running():
            return False
        etcd_running = read_pid(self.pid_file("etcd")) is not None
        ports = [self.port] if etcd_running else [self.port, self.etcd_port, self.etcd_peer_port]
        for port in ports:
            if port_open("127.0.0.1", port):
                raise StackError(
                    f"port {port} is taken by another process; set DEVSTACK_KUBE_PORT, "
                    "DEVSTACK_KUBE_ETCD_PORT and DEVSTACK_KUBE_ETCD_PEER_PORT"
                )
        # Both are built before either starts: the first build takes many minutes.
        etcd, apiserver = built_tool("etcd"), built_tool("kube-apiserver")
        self.pki.ensure(service_ip=KUBERNETES_SERVICE_IP)
        self._write_credentials()
        try:
            if not etcd_running:
                self._launch("etcd", [str(etcd), *self.etcd_arguments()], self.etcd_port)
                self._wait("etcd", self._etcd_healthy, timeout=30)
            self._launch("kube-apiserver", [str(apiserver), *self.apiserver_arguments()], self.port)
            # The first start writes the default RBAC roles and priority levels: seconds.
            self._wait("kube-apiserver", self.ready, timeout=180)
        except StackError:
            self.stop()
            raise
        return True

    def stop(self) -> bool:
        """Stop the API server, then its store; True if either was running."""
        apiserver = stop_process(self.pid_file("kube-apiserver"), timeout=30)
        etcd = stop_process(self.pid_file("etcd"), timeout=30)
        return apiserver or etcd

    def etcd_arguments(self) -> list[str]:
        client, peer = (
            f"http://127.0.0.1:{self.etcd_port}",
            f"http://127.0.0.1:{self.etcd_peer_port}",
        )
        return [
            "--name=devstack",
            f"--data-dir={self.etcd_data}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=devstack={peer}",
            # A throwaway store on a shared developer machine: no fsync per write.
            "--unsafe-no-fsync",
            "--log-level=warn",
        ]

    def apiserver_arguments(self) -> list[str]:
        pki = self.pki
        return [
            f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.port}",
            f"--cert-dir={pki.folder}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}",
            f"--token-auth-file={self.home / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            # PodSecurity is on by default; named so that nobody wonders. Privileged pods
            # are allowed by the server, as on a real cluster, so that refusing them is
            # PodSecurity's decision, per namespace.
            "--enable-admission-plugins=PodSecurity",
            "--allow-privileged=true",
            f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
            f"--service-account-key-file={pki.service_account_public_key}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            "--service-account-issuer=https://kubernetes.default.svc",
            # The `kubernetes` Service's endpoints would name 127.0.0.1, which validation
            # refuses for Endpoints: leave them out.
            "--endpoint-reconciler-type=none",
            "--profiling=false",
        ]

    def _write_credentials(self) -> None:
        token = self.admin_token()
        tokens = self.home / "tokens.csv"
        tokens.write_text(f'{token},{ADMIN_USER},{ADMIN_USER},"system:masters"\n')
        tokens.chmod(0o600)
        ca = base64.b64encode(self.pki.ca_cert.read_bytes()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "devstack",
                    "cluster": {"server": self.url, "certificate-authority-data": ca},
                }
            ],
            "users": [{"name": ADMIN_USER, "user": {"token": token}}],
            "contexts": [
                {"name": "devstack", "context": {"cluster": "devstack", "user": ADMIN_USER}}
            ],
            "current-context": "devstack",
        }
        # JSON is YAML: helm and kubectl read it as a kubeconfig.
        self.kubeconfig.write_text(json.dumps(config, indent=2) + "\n")
        self.kubeconfig.chmod(0o600)

    def _launch(self, program: str, command: list[str], port: int) -> None:
        launch(
            command,
            what=program,
            pid_file=self.pid_file(program),
            log_file=self.log_file(program),
            ports=[port],
            timeout=60,
        )

    def _wait(self, program: str, check: Callable[[], bool], *, timeout: float) -> None:
        """Until `check` holds (the port is open, but the server may not yet serve)."""
        wait_until(
            lambda: check() or read_pid(self.pid_file(program)) is None,
            timeout=timeout,
            what=program,
            log_file=self.log_file(program),
        )
        if read_pid(self.pid_file(program)) is None:
            raise StackError(f"{program} exited; see {self.log_file(program)}")

    def _etcd_healthy(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.etcd_port}/health"
            with urllib.request.urlopen(url, timeout=3) as response:
                return bool(json.load(response).get("health") == "true")
        except (OSError, ValueError):
            return False

    def ready(self) -> bool:
        """The API server answers /readyz with 200."""
        return self.get("/readyz") is not None

    def get(self, path: str) -> bytes | None:
        """GET `path` as the admin user; the body of a 200, else None."""
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        request = urllib.request.Request(  # noqa: S310 (a loopback URL built here)
            self.url + path, headers={"Authorization": f"Bearer {self.admin_token()}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5, context=context) as response:  # noqa: S310
                return response.read() if response.status == 200 else None
        except (OSError, ValueError):
            return None
