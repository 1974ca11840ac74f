"""Builds a sink from settings: targets and secrets come from env / config only, never logged."""

from __future__ import annotations

import os

from leadstream.settings import Settings
from sinks.base import Sink


def build(name: str, settings: Settings) -> Sink:
    if name == "warehouse":
        from sinks.warehouse.sink import WarehouseSink

        dsn = settings.postgres_dsn.get_secret_value() if settings.postgres_dsn else None
        return WarehouseSink(dsn=dsn, duckdb_path=os.environ.get("LEADSTREAM_DUCKDB_PATH", "leadstream.duckdb"))
    if name == "redis":
        from sinks.redis_state import RedisStateSink

        if not settings.redis_url:
            raise ValueError("the redis sink needs LEADSTREAM_REDIS_URL")
        return RedisStateSink(settings.redis_url)
    if name == "crm":
        from sinks.crm.hubspot import HubSpotAdapter
        from sinks.crm.sink import CrmSink

        return CrmSink(HubSpotAdapter(_env("LEADSTREAM_CRM_URL"), _env("LEADSTREAM_CRM_TOKEN")))
    if name == "slack":
        from sinks.slack.sink import ChannelMap, SlackAlertSink, Throttle

        return SlackAlertSink(
            _env("LEADSTREAM_SLACK_TOKEN"),
            base_url=os.environ.get("LEADSTREAM_SLACK_URL", "https://slack.com/api/"),
            channels=ChannelMap(default=os.environ.get("LEADSTREAM_SLACK_DEFAULT_CHANNEL", "#leads")),
            throttle=Throttle(ttl_s=6 * 3600, redis_url=settings.redis_url),
        )
    raise ValueError(f"unknown sink {name!r} (crm, warehouse, redis, slack)")


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ValueError(f"set {name}")
    return value
