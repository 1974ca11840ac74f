"""Sink targets, credentials and routing from env / the config file (``LEADSTREAM_*``).

Kept apart from ``streams.settings.Settings`` (the cluster) so each sink's knobs live beside
it. Tokens are ``SecretStr``: they never appear in a repr, a log line or an error, and are
unwrapped only where a client is built. Maps use ``__``:
``LEADSTREAM_SLACK_CHANNELS_BY_KIND__SLA_BREACH=#sales-managers``.
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SinkSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADSTREAM_", env_nested_delimiter="__", extra="ignore")

    # CRM (HubSpot-compatible batch upsert)
    crm_url: str = "https://api.hubapi.com"
    crm_token: SecretStr | None = None
    crm_timeout_s: float = 10.0
    crm_rate_limit: int = 100  # requests per window: HubSpot's published limit
    crm_rate_window_s: float = 10.0

    # Warehouse: PostgreSQL at Settings.postgres_dsn when set, else this embedded DuckDB file
    duckdb_path: str = "leadstream.duckdb"

    # Redis serving state (at Settings.redis_url)
    redis_ttl_s: int = 90 * 24 * 3600

    # Slack
    slack_token: SecretStr | None = None
    slack_url: str = "https://slack.com/api/"
    slack_default_channel: str = "#leads"
    slack_channels_by_kind: dict[str, str] = {}  # alert kind -> channel, overriding the rules' choice
    slack_throttle_s: int = 6 * 3600  # one post per dedupe_key per window


def required(value: SecretStr | None, env: str) -> str:
    """The plain secret at the point of use, or a clear error naming the variable to set."""
    if value is None or not value.get_secret_value():
        raise ValueError(f"set {env}")
    return value.get_secret_value()
