"""The devstack broker as production runs it: SASL_SSL, SCRAM-SHA-512, one principal per
service and ACLs from the topic catalogue (`journey devstack up --kafka-security sasl_ssl`).

Made at the first secure start and kept under `.devstack/kafka/security/`:
- a self-signed CA and the broker's certificate (`pki`); clients trust `ca.crt`;
- a superuser, `admin`, known to the broker from `kafka-storage format --add-scram`. It
  creates topics, SCRAM users and ACLs, and nothing else uses it;
- a password per service in `principals/<service>.env` (mode 600): the KAFKA_* variables
  that process needs (`journey_platform.settings.KafkaSecurity`).

The controller listener speaks TLS with client certificates: only the broker's own
certificate gets in, so no one can reach the controller as an anonymous superuser.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]  # re-exported
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)
from pydantic import SecretStr

from journey_cli.devstack.pki import ensure_ca, issue, write_private
from journey_cli.devstack.processes import StackError
from journey_platform.access import Grant, grants, principals_of
from journey_platform.contracts import Contracts
from journey_platform.kafka import librdkafka_options
from journey_platform.settings import KafkaSecurity

SUPERUSER = "admin"
MECHANISM = "SCRAM-SHA-512"
BROKER_NAME = "CN=kafka-broker"  # the principal of the broker's certificate
SCRAM_ITERATIONS = 8192
# librdkafka calls Kafka's CLUSTER resource type BROKER (both are code 4).
RESOURCE_TYPES = {
    "TOPIC": ResourceType.TOPIC,
    "GROUP": ResourceType.GROUP,
    "CLUSTER": ResourceType.BROKER,
    "TRANSACTIONAL_ID": ResourceType.TRANSACTIONAL_ID,
}


@dataclass(frozen=True)
class BrokerSecurity:
    folder: Path  # .devstack/kafka/security

    @property
    def ca_cert(self) -> Path:
        return self.folder / "ca.crt"

    @property
    def principals(self) -> Path:
        return self.folder / "principals"

    def principal_env(self, service: str) -> Path:
        return self.principals / f"{service}.env"

    def prepare(self, contracts: Contracts) -> None:
        """Make the CA, the broker's certificate and every password that is missing."""
        self.principals.mkdir(parents=True, exist_ok=True)
        ca_key = self.folder / "ca.key"
        if ensure_ca(self.ca_cert, ca_key) or not self._keystore.exists():
            key, cert = self.folder / "broker.key", self.folder / "broker.crt"
            issue(
                cert,
                key,
                ca_cert=self.ca_cert,
                ca_key=ca_key,
                common_name=BROKER_NAME.removeprefix("CN="),
                dns_names=("localhost",),
                client_too=True,  # it proves itself to its own controller listener
            )
            write_private(self._keystore, key.read_bytes() + cert.read_bytes())
        for service in (SUPERUSER, *sorted(principals_of(contracts))):
            if not self.principal_env(service).exists():
                self._write_principal(service, secrets.token_urlsafe(24))

    @property
    def _keystore(self) -> Path:
        return self.folder / "broker.pem"  # key and certificate, as Kafka's PEM keystore

    def environment(self, service: str) -> dict[str, str]:
        """The KAFKA_* variables a process runs with as `service` (or as SUPERUSER)."""
        if not self.principal_env(service).exists():
            raise StackError(
                f"no Kafka credentials for {service} in {self.principals}: "
                "`journey devstack up --kafka-security sasl_ssl` makes them"
            )
        lines = self.principal_env(service).read_text().splitlines()
        return dict(line.removeprefix("export ").split("=", 1) for line in lines)

    def security(self, service: str) -> KafkaSecurity:
        """The same, as settings."""
        values = self.environment(service)
        return KafkaSecurity(
            security_protocol="SASL_SSL",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username=values["KAFKA_SASL_USERNAME"],
            sasl_password=SecretStr(values["KAFKA_SASL_PASSWORD"]),
            ssl_cafile=self.ca_cert,
        )

    def client_environment(self) -> dict[str, str]:
        """What every client shares; each process adds its own principal's file."""
        return {
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": MECHANISM,
            "KAFKA_SSL_CAFILE": str(self.ca_cert),
            "DEVSTACK_KAFKA_PRINCIPALS": str(self.principals),
        }

    def format_arguments(self) -> list[str]:
        """`kafka-storage format` arguments that let the superuser in from the first start."""
        password = self.security(SUPERUSER).sasl_password
        assert password is not None
        secret = password.get_secret_value()
        return ["--add-scram", f"{MECHANISM}=[name={SUPERUSER},password={secret}]"]

    def server_properties(self, port: int, controller: int) -> list[str]:
        password = self.security(SUPERUSER).sasl_password
        assert password is not None
        login = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{SUPERUSER}" password="{password.get_secret_value()}";'
        )
        return [
            f"listeners=SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
            f"advertised.listeners=SASL_SSL://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=SASL_SSL",
            "listener.security.protocol.map=CONTROLLER:SSL,SASL_SSL:SASL_SSL",
            f"sasl.enabled.mechanisms={MECHANISM}",
            f"sasl.mechanism.inter.broker.protocol={MECHANISM}",
            f"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={login}",
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={self._keystore}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={self.ca_cert}",
            "listener.name.controller.ssl.client.auth=required",
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            f"super.users=User:{SUPERUSER};User:{BROKER_NAME}",
            "allow.everyone.if.no.acl.found=false",
        ]

    def grant(self, bootstrap_servers: str, contracts: Contracts) -> int:
        """As the superuser: a SCRAM user per service and the catalogue's ACLs. Both calls
        are idempotent, so this runs at every `up`. Returns how many ACLs are in force."""
        admin = AdminClient(
            {"bootstrap.servers": bootstrap_servers, **librdkafka_options(self.security(SUPERUSER))}
        )
        users: list[UserScramCredentialAlteration] = [
            UserScramCredentialUpsertion(
                service,
                ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS),
                _password(self.security(service)).encode(),
            )
            for service in sorted(principals_of(contracts))
        ]
        bindings = [_binding(g) for g in grants(contracts)]
        try:
            for future in admin.alter_user_scram_credentials(users).values():
                future.result(timeout=30)
            for future in admin.create_acls(bindings, request_timeout=30).values():
                future.result(timeout=30)
        except KafkaException as error:
            raise StackError(f"could not create Kafka users and ACLs: {error}") from error
        for service in sorted(principals_of(contracts)):
            self._wait_until_accepted(bootstrap_servers, service)
        return len(bindings)

    def _wait_until_accepted(
        self, bootstrap_servers: str, service: str, within: float = 30
    ) -> None:
        """A new SCRAM user reaches the broker's credential cache a moment after the
        controller accepts it: until then its password is refused. Wait for it, so whoever
        starts next as `service` gets in."""
        options = librdkafka_options(self.security(service))
        deadline = time.monotonic() + within
        while True:
            # log_level 2: the refusals this waits out are expected, not worth a line each.
            client = AdminClient(
                {"bootstrap.servers": bootstrap_servers, "log_level": 2, **options}
            )
            try:
                client.list_topics(timeout=5)
                return
            except KafkaException as error:
                if time.monotonic() > deadline:
                    raise StackError(f"the broker still refuses {service}: {error}") from error
                time.sleep(0.25)  # polling the broker's credential cache with a deadline

    def _write_principal(self, service: str, password: str) -> None:
        lines = {
            **self.client_environment(),
            "KAFKA_SASL_USERNAME": service,
            "KAFKA_SASL_PASSWORD": password,
        }
        lines.pop("DEVSTACK_KAFKA_PRINCIPALS")
        write_private(
            self.principal_env(service),
            "".join(f"export {k}={v}\n" for k, v in lines.items()).encode(),
        )


def _password(security: KafkaSecurity) -> str:
    if security.sasl_password is None:
        raise StackError(f"no password for Kafka principal {security.sasl_username}")
    return security.sasl_password.get_secret_value()


def _binding(grant: Grant) -> AclBinding:
    return AclBinding(
        RESOURCE_TYPES[grant.resource],
        grant.name,
        ResourcePatternType.PREFIXED if grant.prefixed else ResourcePatternType.LITERAL,
        f"User:{grant.principal}",
        "*",
        AclOperation[grant.operation],
        AclPermissionType.ALLOW,
    )
