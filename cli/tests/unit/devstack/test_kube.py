"""The local API server's keys, certificates, kubeconfig and flags, without starting it."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from journey_cli.devstack import Stack
from journey_cli.devstack.kube import KUBERNETES_SERVICE_IP, LocalKube
from journey_cli.devstack.kubepki import KubePki


def test_the_serving_certificate_is_signed_by_the_ca_for_loopback_and_the_service(
    tmp_path: Path,
) -> None:
    pki = KubePki(tmp_path / "pki")
    pki.ensure(service_ip="10.96.0.1")

    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    serving = x509.load_pem_x509_certificate(pki.serving_cert.read_bytes())
    serving.verify_directly_issued_by(ca)
    names = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {
        "127.0.0.1",
        "10.96.0.1",
    }
    assert "kubernetes.default.svc" in names.get_values_for_type(x509.DNSName)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for key in (pki.ca_key, pki.serving_key, pki.service_account_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_keys_are_kept_across_starts(tmp_path: Path) -> None:
    pki = KubePki(tmp_path / "pki")
    pki.ensure(service_ip="10.96.0.1")
    before = {p.name: p.read_bytes() for p in pki.folder.iterdir()}

    pki.ensure(service_ip="10.96.0.1")

    assert {p.name: p.read_bytes() for p in pki.folder.iterdir()} == before


def test_a_new_ca_reissues_the_serving_certificate(tmp_path: Path) -> None:
    pki = KubePki(tmp_path / "pki")
    pki.ensure(service_ip="10.96.0.1")
    pki.ca_key.unlink()

    pki.ensure(service_ip="10.96.0.1")

    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    x509.load_pem_x509_certificate(pki.serving_cert.read_bytes()).verify_directly_issued_by(ca)


def test_the_kubeconfig_names_the_server_its_ca_and_the_admin_token(tmp_path: Path) -> None:
    kube = LocalKube(home=tmp_path, port=16443, etcd_port=12379, etcd_peer_port=12380)
    kube.pki.ensure(service_ip=KUBERNETES_SERVICE_IP)

    kube._write_credentials()

    config = json.loads(kube.kubeconfig.read_text())
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:16443"
    assert config["users"][0]["user"]["token"] == kube.admin_token()
    assert kube.admin_token() in (tmp_path / "tokens.csv").read_text()
    assert '"system:masters"' in (tmp_path / "tokens.csv").read_text()
    assert stat.S_IMODE(kube.kubeconfig.stat().st_mode) == 0o600


def test_it_listens_on_its_own_ports_with_pod_security_and_rbac(tmp_path: Path) -> None:
    kube = LocalKube(home=tmp_path, port=16443, etcd_port=12379, etcd_peer_port=12380)

    apiserver = kube.apiserver_arguments()
    etcd = kube.etcd_arguments()

    assert "--secure-port=16443" in apiserver
    assert "--etcd-servers=http://127.0.0.1:12379" in apiserver
    assert "--authorization-mode=RBAC" in apiserver
    assert "--enable-admission-plugins=PodSecurity" in apiserver
    assert "--listen-client-urls=http://127.0.0.1:12379" in etcd
    assert "--listen-peer-urls=http://127.0.0.1:12380" in etcd


def test_the_stack_starts_it_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DEVSTACK_DIR", str(tmp_path))
    monkeypatch.setenv("DEVSTACK_KUBE_PORT", "26443")
    monkeypatch.delenv("DEVSTACK_KUBE", raising=False)
    stack = Stack.from_environment()

    assert stack.kube.port == 26443
    assert stack.kube.home == tmp_path.resolve() / "kube"
    assert not stack.kube_requested()
    assert "KUBECONFIG" not in stack.environment()
    monkeypatch.setenv("DEVSTACK_KUBE", "1")
    assert stack.kube_requested()


def test_service_account_keys_are_an_ec_pair(tmp_path: Path) -> None:
    pki = KubePki(tmp_path)
    pki.ensure(service_ip="10.96.0.1")

    private = serialization.load_pem_private_key(pki.service_account_key.read_bytes(), None)
    public = serialization.load_pem_public_key(pki.service_account_public_key.read_bytes())
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert private.public_key().public_numbers() == public.public_numbers()
