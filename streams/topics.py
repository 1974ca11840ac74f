"""Every topic leadstream uses: the contract's (inputs, outputs, state, dead letters) and the live
runtime's internal ones, with their partitions, compaction and retention; idempotent creation."""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka.admin import AdminClient, NewTopic

from processors.clock import DAY_MS
from schemas.catalog import INPUTS, STREAMS, Role, StreamSpec
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


# --- the live runtime's internal topics (Faust creates the table changelogs itself) -------------


def app_id(settings: Settings) -> str:
    """The worker's consumer group and topic prefix: one per app version (a shadow run gets its own)."""
    return f"leadstream-engine-v{settings.app_version}"


def inputs_group(settings: Settings) -> str:
    """The consumer group of the worker's input reader (``streams.live.inputs``)."""
    return f"{app_id(settings)}-inputs"


@dataclass(frozen=True)
class InternalTopics:
    """``ingest``: accepted events, partition i holding input partition i of every input topic
    (keyed as the inputs are); ``events``: the same events re-keyed to their engine key."""

    ingest: str
    events: str
    partitions: int


def ensure_internal_topics(settings: Settings, app_id: str, timeout: float = 30.0) -> InternalTopics:
    """Both with the input topics' partition count (no stage has one partition), kept a week:
    far longer than any restart needs to read them again."""
    admin = AdminClient(settings.kafka_config())
    partitions = partition_count(settings, settings.topic(INPUTS[0].name), timeout)
    topics = InternalTopics(f"{app_id}-ingest", f"{app_id}-events", partitions)
    config = {"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS)}
    wanted = [
        NewTopic(name, num_partitions=partitions, replication_factor=-1, config=config)
        for name in (topics.ingest, topics.events)
    ]
    create_topics(admin, wanted, timeout)
    for name in (topics.ingest, topics.events):
        found = partition_count(settings, name, timeout)
        if found != partitions:
            raise RuntimeError(
                f"topic {name!r} has {found} partitions but the inputs have {partitions}; "
                "a new LEADSTREAM_APP_VERSION starts with fresh internal topics"
            )
    return topics


def partition_count(settings: Settings, topic: str, timeout: float = 30.0) -> int:
    meta = AdminClient(settings.kafka_config()).list_topics(topic, timeout=timeout)
    info = meta.topics.get(topic)
    if info is None or info.error is not None or not info.partitions:
        raise RuntimeError(f"topic {topic!r} is missing; run `leadstream dev topics` or the worker's setup first")
    return len(info.partitions)
