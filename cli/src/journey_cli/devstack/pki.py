"""A development certificate authority and the certificates it signs, made with `cryptography`.

The local Kubernetes API server (`kubepki`) and the SASL_SSL Kafka broker (`kafkasec`) each
keep one self-signed CA under `.devstack/`; nothing signed here leaves the machine. Every
private key is written readable by its owner only.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_FOR = datetime.timedelta(days=3650)  # a developer's machine; nothing here leaves it


def ensure_ca(cert: Path, key: Path) -> bool:
    """Make a CA at `cert`/`key` unless both exist; True if one was made (anything it had
    signed before is then worthless)."""
    if cert.exists() and key.exists():
        return False
    private = ec.generate_private_key(ec.SECP256R1())
    write_key(key, private)
    cert.write_bytes(pem(_ca_certificate(private)))
    return True


def issue(
    cert: Path,
    key: Path,
    *,
    ca_cert: Path,
    ca_key: Path,
    common_name: str,
    dns_names: tuple[str, ...] = (),
    ips: tuple[str, ...] = ("127.0.0.1",),
    client_too: bool = False,
) -> None:
    """A serving certificate for `dns_names` and `ips` signed by the CA, with its key;
    `client_too` lets it also prove who it is as a TLS client."""
    loaded = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
    ca = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{ca_key} is not the EC key this module writes")
    private = ec.generate_private_key(ec.SECP256R1())
    write_key(key, private)
    now = datetime.datetime.now(datetime.UTC)
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    usages = [ExtendedKeyUsageOID.SERVER_AUTH]
    if client_too:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca.subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALID_FOR)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(loaded, hashes.SHA256())
    )
    cert.write_bytes(pem(certificate))


def _ca_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "victim-journey devstack CA")])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALID_FOR)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    write_private(
        path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def write_private(path: Path, content: bytes) -> None:
    """Write `content` to `path`, readable by its owner only (from the first byte)."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(content)
