"""Idempotent topic creation: partitions for inputs/outputs, compaction for state, retention."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka.admin import AdminClient, NewTopic

from leadstream.settings import Settings
from schemas.catalog import STREAMS, Role, StreamSpec

DAY_MS = 24 * 3600 * 1000
# Inputs are kept long enough to backtest a quarter plus a window of warm-up.
RETENTION_MS = {Role.input: 120 * DAY_MS, Role.output: 90 * DAY_MS, Role.dead_letter: 30 * DAY_MS}


@dataclass(frozen=True)
class TopicPlan:
    name: str
    partitions: int
    config: dict[str, str]


def plan(settings: Settings) -> list[TopicPlan]:
    return [_plan_one(spec, settings) for spec in STREAMS]


def _plan_one(spec: StreamSpec, settings: Settings) -> TopicPlan:
    if spec.role is Role.state:
        config = {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"}
    else:
        config = {"cleanup.policy": "delete", "retention.ms": str(RETENTION_MS[spec.role])}
    partitions = 1 if spec.role is Role.dead_letter else settings.partitions
    return TopicPlan(settings.topic(spec.name), partitions, config)


def ensure_topics(settings: Settings, timeout: float = 30.0) -> dict[str, str]:
    """Create missing topics; leave existing ones alone. Returns topic → "created" | "exists"."""
    admin = AdminClient(settings.kafka_config())
    existing = set(admin.list_topics(timeout=timeout).topics)
    wanted = plan(settings)
    result = {t.name: "exists" for t in wanted if t.name in existing}
    new = [
        NewTopic(t.name, num_partitions=t.partitions, replication_factor=-1, config=t.config)
        for t in wanted
        if t.name not in existing
    ]
    if new:
        for name, future in admin.create_topics(new, operation_timeout=timeout).items():
            try:
                future.result(timeout)
                result[name] = "created"
            except Exception as exc:  # created concurrently by another process: fine
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise
                result[name] = "exists"
    return result
