"""Builds a sink from settings: targets and secrets come from env / config only, never logged."""

from __future__ import annotations

from sinks.base import RetryPolicy, Sink
from sinks.config import SinkSettings, required
from streams.settings import Settings

NAMES = ("crm", "warehouse", "redis", "slack")
# A sink's own retries give up after a minute so a stop request is honoured promptly; the runner
# then retries the whole (idempotent) batch without limit, so an outage still loses nothing.
INNER_RETRY = RetryPolicy(initial_s=0.5, max_backoff_s=15.0, max_elapsed_s=60.0)


def build(name: str, settings: Settings, sinks: SinkSettings | None = None) -> Sink:
    sinks = sinks or SinkSettings()
    if name == "warehouse":
        from sinks.warehouse.sink import WarehouseSink

        dsn = settings.postgres_dsn.get_secret_value() if settings.postgres_dsn else None
        return WarehouseSink(dsn=dsn, duckdb_path=sinks.duckdb_path)
    if name == "redis":
        from sinks.redis_state import RedisStateSink

        if not settings.redis_url:
            raise ValueError("the redis sink needs LEADSTREAM_REDIS_URL")
        return RedisStateSink(settings.redis_url, ttl_s=sinks.redis_ttl_s)
    if name == "crm":
        from sinks.crm.hubspot import HubSpotAdapter, RateLimiter
        from sinks.crm.sink import CrmSink

        limiter = RateLimiter(sinks.crm_rate_limit, sinks.crm_rate_window_s)
        token = required(sinks.crm_token, "LEADSTREAM_CRM_TOKEN")
        adapter = HubSpotAdapter(sinks.crm_url, token, timeout_s=sinks.crm_timeout_s, limiter=limiter)
        return CrmSink(adapter, INNER_RETRY)
    if name == "slack":
        from sinks.slack.sink import ChannelMap, SlackAlertSink, Throttle

        return SlackAlertSink(
            required(sinks.slack_token, "LEADSTREAM_SLACK_TOKEN"),
            base_url=sinks.slack_url,
            channels=ChannelMap(default=sinks.slack_default_channel, by_kind=dict(sinks.slack_channels_by_kind)),
            throttle=Throttle(ttl_s=sinks.slack_throttle_s, redis_url=settings.redis_url),
            policy=INNER_RETRY,
        )
    raise ValueError(f"unknown sink {name!r} ({', '.join(NAMES)})")
