"""Settings every service shares, read from the environment once at start-up.

Services subclass `PlatformSettings` for their own knobs and pass the instance down;
nothing reads the environment at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal, Self, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The one deployment environment in which a key may keep its development default.
DEVELOPMENT = "development"


def find_schemas_dir(start: Path | None = None) -> Path:
    """The repository's `schemas/` folder, found by walking up from `start`.

    Deployments that do not run from a checkout set `SCHEMAS_DIR` instead.
    """
    here = (start or Path(__file__)).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "schemas" / "topics.yaml"
        if candidate.is_file():
            return candidate.parent
    raise FileNotFoundError(
        f"no schemas/topics.yaml above {here}; set SCHEMAS_DIR to the event contracts folder"
    )


class KafkaSecurity(BaseSettings):
    """How a client proves who it is to Kafka: KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM,
    KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SSL_CAFILE.

    Unset, it is PLAINTEXT without credentials, as the default devstack broker expects.
    `journey_platform.kafka.client_options` turns it into a client's keyword arguments.
    """

    model_config = SettingsConfigDict(env_prefix="KAFKA_", env_file=None, extra="ignore")

    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    # The CA that signed the broker's certificate; unset: the system's trusted CAs.
    ssl_cafile: Path | None = None

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol.endswith("SSL")

    @model_validator(mode="after")
    def _credentials_given(self) -> Self:
        if self.uses_sasl and not (self.sasl_username and self.sasl_password):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs KAFKA_SASL_USERNAME "
                "and KAFKA_SASL_PASSWORD"
            )
        return self


class PlatformSettings(BaseSettings):
    """Connection and privacy settings common to every service."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    service_name: str = "victim-journey"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security: KafkaSecurity = Field(default_factory=KafkaSecurity)
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    schemas_dir: Path = Field(default_factory=find_schemas_dir)
    # Key for pseudonymous ids (HMAC-SHA256). Whoever holds it can re-link pseudonyms to
    # the identifiers behind them, so production takes it from a secret store.
    pseudonym_key: SecretStr = SecretStr("development-only-pseudonym-key-change-me")
    log_level: str = "INFO"
    outbox_poll_interval_seconds: float = 0.2
    outbox_batch_size: int = 500
    # Sent outbox rows are kept this long (to look into a delivery), then purged.
    outbox_retention_seconds: float = 3 * 24 * 3600
    dead_letter_topic: str = "journey.deadletter"
    # Telemetry (telemetry.py): Prometheus metrics on this port (0: not served), and the
    # deployment.environment.name resource attribute on every span.
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    deployment_environment: str = DEVELOPMENT
    # A database statement gets a span of its own when it takes at least this long, or
    # fails (0: every statement; telemetry.StatementObserver says why not all by default).
    db_statement_span_ms: float = Field(default=20.0, ge=0)
    # The settings holding a key with a development default that this process uses:
    # outside development each must come from the environment (a secret), or the process
    # refuses to start. Each service names its own.
    secret_keys: ClassVar[tuple[str, ...]] = ()

    @field_validator("pseudonym_key")
    @classmethod
    def _long_enough(cls, key: SecretStr) -> SecretStr:
        if len(key.get_secret_value()) < 32:
            raise ValueError("pseudonym_key must be at least 32 characters")
        return key

    @model_validator(mode="after")
    def _no_development_key_outside_development(self) -> Self:
        if self.deployment_environment == DEVELOPMENT:
            return self
        defaults = type(self).model_fields
        unset = [name for name in self.secret_keys if getattr(self, name) == defaults[name].default]
        if unset:
            raise DevelopmentKeyRefused(
                [name.upper() for name in unset], self.deployment_environment
            )
        return self


class DevelopmentKeyRefused(Exception):
    """A key kept its development default outside development. Not a ValueError, so that
    pydantic lets it through as it is rather than folding it into a ValidationError."""

    def __init__(self, variables: list[str], environment: str) -> None:
        super().__init__(
            f"DEPLOYMENT_ENVIRONMENT={environment} refuses development keys: "
            f"set {', '.join(variables)} from a secret"
        )


Settings = TypeVar("Settings", bound=PlatformSettings)


def load(settings_class: type[Settings]) -> Settings:
    """A process's settings from its environment, or exit with one line that says what
    to set: an operator reads why the process would not start, not a traceback."""
    try:
        return settings_class()
    except DevelopmentKeyRefused as refused:
        raise SystemExit(f"{settings_class.__name__}: {refused}") from None
    except ValidationError as invalid:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc'])).upper() or 'settings'}: {error['msg']}"
            for error in invalid.errors()
        )
        raise SystemExit(f"{settings_class.__name__}: {problems}") from None
