"""Configuration from env (``LEADSTREAM_*``) or a YAML file (``LEADSTREAM_CONFIG``, ``leadstream.yaml``).

When the four endpoints are set, leadstream uses that cluster and starts nothing; otherwise the
commands that need infrastructure start the local stack (``infra.stack``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from schemas.catalog import BY_NAME, INPUTS
from schemas.serde import ValueFormat


def _config_file() -> Path | None:
    explicit = os.environ.get("LEADSTREAM_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path("leadstream.yaml")
    return local if local.exists() else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADSTREAM_", env_nested_delimiter="__")

    bootstrap_servers: str | None = None
    registry_url: str | None = None
    redis_url: str | None = None
    postgres_dsn: SecretStr | None = None

    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: str | None = None
    registry_basic_auth: SecretStr | None = None  # "user:password"

    topics: dict[str, str] = {}
    input_formats: dict[str, ValueFormat] = {s.name: ValueFormat.auto for s in INPUTS}
    partitions: int = 4
    rules_file: Path | None = None
    app_version: str = "1"
    lateness_ms: int = 5_000  # how far the live SLA clock trails the wall clock
    max_future_s: float = 300.0  # an event further ahead of the clock than this is dead-lettered
    partition_skew_ms: int = 250  # how much later than another a quiet input partition may be written
    store_url: str = "memory://"  # Faust table store; rocksdict:// where rocksdict is installed
    replication_factor: int = 1  # for the topics Faust creates (table changelogs)
    stats_every_s: float = 10.0  # the worker's stats line
    data_dir: Path = Path(".run/faust")  # Faust's local table stores (rocksdict) and bookkeeping

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file()
        if path is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        return tuple(sources)

    def topic(self, stream: str) -> str:
        """Actual topic name of a logical stream (``web_visits`` → ``web.visits`` by default)."""
        return self.topics.get(stream, BY_NAME[stream].default_topic)

    def input_format(self, stream: str) -> ValueFormat:
        return self.input_formats.get(stream, ValueFormat.auto)

    @property
    def max_future_ms(self) -> int:
        return int(self.max_future_s * 1000)

    @property
    def has_cluster(self) -> bool:
        return bool(self.bootstrap_servers)

    def kafka_config(self, **extra: Any) -> dict[str, Any]:
        """librdkafka client config (confluent-kafka) for this cluster."""
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
            conf["sasl.username"] = self.sasl_username
            conf["sasl.password"] = self.sasl_password.get_secret_value() if self.sasl_password else ""
        if self.ssl_ca_location:
            conf["ssl.ca.location"] = self.ssl_ca_location
        conf.update(extra)
        return conf

    def registry_config(self) -> dict[str, Any]:
        conf: dict[str, Any] = {"url": self.registry_url}
        if self.registry_basic_auth:
            conf["basic.auth.user.info"] = self.registry_basic_auth.get_secret_value()
        return conf
