"""The live runtime's internal topics (Faust creates the table changelogs itself)."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient, NewTopic

from processors.clock import DAY_MS
from streams.settings import Settings
from streams.topics import create_topics


def app_id(settings: Settings) -> str:
    """The worker's consumer group and topic prefix: one per app version (a shadow run gets its own)."""
    return f"leadstream-engine-v{settings.app_version}"


def inputs_group(settings: Settings) -> str:
    """The consumer group of the worker's input reader (``streams.live.inputs``)."""
    return f"{app_id(settings)}-inputs"


def ensure_internal_topics(settings: Settings, app_id: str, timeout: float = 30.0) -> tuple[str, str]:
    """``<app>-ingest`` (one partition: the router's single, ordered input) and ``<app>-routed``.

    Both are kept a week, far longer than any restart needs to replay them.
    """
    ingest, routed = f"{app_id}-ingest", f"{app_id}-routed"
    config = {"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS)}
    wanted = [
        NewTopic(name, num_partitions=n, replication_factor=-1, config=config)
        for name, n in ((ingest, 1), (routed, settings.partitions))
    ]
    create_topics(AdminClient(settings.kafka_config()), wanted, timeout)
    return ingest, routed


def partition_count(settings: Settings, topic: str, timeout: float = 30.0) -> int:
    meta = AdminClient(settings.kafka_config()).list_topics(topic, timeout=timeout)
    info = meta.topics.get(topic)
    if info is None or info.error is not None or not info.partitions:
        raise RuntimeError(f"topic {topic!r} is missing; run `leadstream dev topics` or the worker's setup first")
    return len(info.partitions)
