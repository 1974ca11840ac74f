"""Idempotent topic creation: partitions for inputs/outputs, compaction for state, retention."""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka.admin import AdminClient, NewTopic

from processors.clock import DAY_MS
from schemas.catalog import STREAMS, Role, StreamSpec
from streams.settings import Settings

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
    wanted = [
        NewTopic(t.name, num_partitions=t.partitions, replication_factor=-1, config=t.config) for t in plan(settings)
    ]
    return create_topics(AdminClient(settings.kafka_config()), wanted, timeout)


def create_topics(admin: AdminClient, wanted: list[NewTopic], timeout: float = 30.0) -> dict[str, str]:
    """Create the missing ones of ``wanted`` and return once every partition has a leader.

    A producer that writes to a topic whose leaders are not yet known gets retriable errors,
    and a producer without idempotence can then reorder a partition's records: the first
    writes into a fresh topic must find it ready.
    """
    existing = set(admin.list_topics(timeout=timeout).topics)
    result = {t.topic: "exists" for t in wanted if t.topic in existing}
    new = [t for t in wanted if t.topic not in existing]
    if not new:
        return result
    for name, future in admin.create_topics(new, operation_timeout=timeout).items():
        try:
            future.result(timeout)
            result[name] = "created"
        except Exception as exc:  # created concurrently by another process: fine
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
            result[name] = "exists"
    _wait_for_leaders(admin, [t.topic for t in new], timeout)
    return result


def _wait_for_leaders(admin: AdminClient, names: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        topics = admin.list_topics(timeout=timeout).topics
        waiting = [
            n
            for n in names
            if n not in topics
            or topics[n].error is not None
            or not topics[n].partitions
            or any(p.leader < 0 for p in topics[n].partitions.values())
        ]
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics without a leader after {timeout:.0f} s: {', '.join(sorted(waiting))}")
        time.sleep(0.1)
