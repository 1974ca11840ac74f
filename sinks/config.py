"""Sink configuration from env (``LEADSTREAM_SINK_*``): targets, credentials, channel routing.

Kept apart from ``leadstream.settings.Settings`` (the cluster) so each sink's knobs live beside
it. Tokens and DSNs are ``SecretStr``: they never appear in a repr, a log line or an error.
Nested values use ``__`` (``LEADSTREAM_SINK_SLACK_CHANNELS__EMEA=#sales-emea``).
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from sinks.base import RetryPolicy


class SinkSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADSTREAM_SINK_", env_nested_delimiter="__")

    batch_size: int = 500
    poll_timeout_s: float = 1.0
    retry_initial_s: float = 0.5
    retry_max_backoff_s: float = 60.0
    retry_max_elapsed_s: float | None = None  # None: a long outage blocks this sink only, never loses data

    # CRM (HubSpot-compatible)
    hubspot_url: str = "https://api.hubapi.com"
    hubspot_token: SecretStr | None = None
    hubspot_timeout_s: float = 10.0
    hubspot_rate_limit: int = 100  # requests per window (HubSpot's published limit)
    hubspot_rate_window_s: float = 10.0

    # Warehouse: PostgreSQL when a DSN is set (else Settings.postgres_dsn is NOT assumed), else DuckDB
    warehouse_dsn: SecretStr | None = None
    duckdb_path: str = "leadstream.duckdb"

    # Redis serving state (falls back to Settings.redis_url)
    redis_url: SecretStr | None = None
    redis_ttl_s: int = 90 * 24 * 3600

    # Slack
    slack_token: SecretStr | None = None
    slack_base_url: str = "https://slack.com/api/"
    slack_default_channel: str = "#leadstream-alerts"
    # An alert's channel (the territory channel chosen by the rules), or its account id, or its
    # owner id → the Slack channel to post in. Unmapped: the alert's own channel, else the default.
    slack_channels: dict[str, str] = {}
    slack_throttle_s: int = 24 * 3600  # one post per dedupe_key per window

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(self.retry_initial_s, self.retry_max_backoff_s, self.retry_max_elapsed_s)


def secret(value: SecretStr | None) -> str | None:
    """The plain value, only at the point of use (a client constructor)."""
    return value.get_secret_value() if value is not None else None
