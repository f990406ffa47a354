"""The local Kubernetes API server's keys and certificates (made by `pki`).

One self-signed CA signs the serving certificate (for 127.0.0.1, localhost and the names
a pod would use for the `kubernetes` Service); a separate key pair signs and checks
service account tokens. They are made once into `.devstack/kube/pki/` and kept, so a
kubeconfig written earlier stays valid across restarts; `journey devstack reset` keeps them
too. Every private key is written readable by its owner only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from journey_cli.devstack.pki import ensure_ca, issue, write_key

SERVING_NAMES = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc")


@dataclass(frozen=True)
class KubePki:
    folder: Path  # .devstack/kube/pki

    @property
    def ca_cert(self) -> Path:
        return self.folder / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca.key"

    @property
    def serving_cert(self) -> Path:
        return self.folder / "apiserver.crt"

    @property
    def serving_key(self) -> Path:
        return self.folder / "apiserver.key"

    @property
    def service_account_key(self) -> Path:
        return self.folder / "service-account.key"

    @property
    def service_account_public_key(self) -> Path:
        return self.folder / "service-account.pub"

    def ensure(self, *, service_ip: str) -> None:
        """Make whatever is missing; files already there are kept."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if ensure_ca(self.ca_cert, self.ca_key):
            self.serving_cert.unlink(missing_ok=True)  # signed by the CA it replaces
        if not (self.serving_cert.exists() and self.serving_key.exists()):
            issue(
                self.serving_cert,
                self.serving_key,
                ca_cert=self.ca_cert,
                ca_key=self.ca_key,
                common_name="kube-apiserver",
                dns_names=SERVING_NAMES,
                ips=("127.0.0.1", service_ip),
            )
        if not (self.service_account_key.exists() and self.service_account_public_key.exists()):
            key = ec.generate_private_key(ec.SECP256R1())
            write_key(self.service_account_key, key)
            self.service_account_public_key.write_bytes(
                key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
