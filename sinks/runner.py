"""Runs one sink as its own Kafka consumer group: decode → write (retried) → commit.

At-least-once: offsets are committed only after the batch was written (or dead-lettered), and
sinks are idempotent, so a crash or rebalance that redelivers a batch changes nothing. A sink
outage only stalls this sink's group; qualification and the other sinks go on. A record the
target refuses for good goes to ``lead.deadletter``; a ConfigurationError (a revoked token, say)
fails every record alike, so it stops the sink uncommitted instead. The delivery logic
(``deliver``) is pure of Kafka so it is tested directly.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from schemas import models
from schemas.catalog import BY_NAME, StreamSpec
from schemas.serde import AvroSerde, ValueFormat
from schemas.validation import accept, dead_letter
from sinks.base import PermanentError, RetryPolicy, Sink, mask_emails, retry
from streams.settings import Settings

log = logging.getLogger(__name__)
DeadLetterFn = Callable[[models.DeadLetter], None]


class Stopped(Exception):
    """The stop event was set while a write was being retried; the batch stays uncommitted."""


@dataclass(frozen=True)
class Item:
    """One consumed value: its decoded record, or the dead letter saying why it did not decode."""

    topic: str
    position: str  # partition:offset
    raw: bytes
    key: bytes | None
    record: models.Record | models.DeadLetter


@dataclass
class DeliveryStats:
    consumed: int = 0
    written: int = 0
    dead_letters: int = 0

    def add(self, other: DeliveryStats) -> None:
        self.consumed += other.consumed
        self.written += other.written
        self.dead_letters += other.dead_letters


# The streams each sink consumes (logical names; topic names come from settings).
STREAMS_OF: dict[str, tuple[str, ...]] = {
    "crm": ("mql", "sla", "lifecycle", "contact_state"),
    "warehouse": ("mql", "sla", "lifecycle", "alerts", "contact_state", "account_state"),
    "redis": ("mql", "sla", "contact_state", "account_state"),
    "slack": ("alerts",),
}


def decode(spec: StreamSpec, topic: str, position: str, raw: bytes, key: bytes | None, serde: AvroSerde | None) -> Item:
    return Item(topic, position, raw, key, accept(spec, topic, position, raw, ValueFormat.auto, serde, key))


def deliver(
    sink: Sink,
    items: Sequence[Item],
    policy: RetryPolicy,
    on_dead_letter: DeadLetterFn,
    sleep: Callable[[float], object] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> DeliveryStats:
    """Write the batch (retried); if the target refuses it for good, find the refused records one
    by one (idempotent sinks skip what already landed) and dead-letter only those."""
    stats = DeliveryStats(consumed=len(items))
    good: list[Item] = []
    for item in items:
        if isinstance(item.record, models.DeadLetter):
            on_dead_letter(item.record)
            stats.dead_letters += 1
        else:
            good.append(item)
    if not good:
        return stats
    sleep = sleep or time.sleep

    def write(batch: list[models.Record]) -> None:
        if should_stop():
            raise Stopped()
        sink.write(batch)

    try:
        retry(lambda: write([i.record for i in good]), policy, sleep)
        stats.written = len(good)
        return stats
    except PermanentError as exc:
        log.warning(
            "%s refused a batch of %d (%s); isolating the bad records", sink.name, len(good), mask_emails(str(exc))
        )
    for item in good:
        try:
            retry(partial(write, [item.record]), policy, sleep)
            stats.written += 1
        except PermanentError as exc:
            error = f"{sink.name}: {exc}"
            on_dead_letter(dead_letter(item.topic, item.position, error, item.raw, item.key))
            stats.dead_letters += 1
    return stats


def prepare(sink: Sink, policy: RetryPolicy, stop_event: threading.Event) -> None:
    """The sink's optional one-time setup (``sink.prepare()``: CRM properties, say), retried."""
    setup = getattr(sink, "prepare", None)
    if setup is None:
        return

    def call() -> None:
        if stop_event.is_set():
            raise Stopped()
        setup()

    with contextlib.suppress(Stopped):
        retry(call, policy, sleep=stop_event.wait)


def run_sink(
    sink: Sink,
    settings: Settings,
    streams: Iterable[str],
    stop_event: threading.Event,
    group_id: str | None = None,
    batch_size: int = 500,
    poll_timeout_s: float = 1.0,
    policy: RetryPolicy | None = None,
    on_batch: Callable[[DeliveryStats], None] | None = None,
) -> DeliveryStats:
    """Consume the logical ``streams`` (e.g. ``STREAMS_OF["crm"]``) until ``stop_event`` is set.

    The group defaults to ``leadstream-sink-<name>``: each sink keeps its own offsets, so one
    sink lagging or down never holds back another. ``on_batch`` sees the running totals.
    """
    from confluent_kafka import KafkaException

    from streams.kafka_io import RecordWriter, avro_serde, consumer, coordinates, producer

    serde = avro_serde(settings)
    if serde is None:  # output topics are Avro, and dead letters must have somewhere to go
        raise ValueError("a sink needs the schema registry (LEADSTREAM_REGISTRY_URL)")
    specs = {settings.topic(name): BY_NAME[name] for name in streams}
    source = consumer(settings, group_id or f"leadstream-sink-{sink.name}", specs)
    dead_letters = RecordWriter(settings, producer(settings), serde)
    policy = policy or RetryPolicy(max_elapsed_s=None)
    totals = DeliveryStats()

    def on_dead_letter(record: models.DeadLetter) -> None:
        log.warning(
            "%s dead-letters %s@%s: %s", sink.name, record.source_topic, record.position, mask_emails(record.error)
        )
        dead_letters.write(record)

    try:
        prepare(sink, policy, stop_event)
        while not stop_event.is_set():
            messages = source.consume(num_messages=batch_size, timeout=poll_timeout_s)
            values = [m for m in messages if not m.error()]
            if not values:
                continue
            items = []
            for m in values:
                raw = m.value()
                if raw is None:  # tombstones on the compacted state topics
                    continue
                topic, partition, offset = coordinates(m)
                items.append(decode(specs[topic], topic, f"{partition}:{offset}", raw, m.key(), serde))
            try:
                stats = deliver(
                    sink, items, policy, on_dead_letter, sleep=stop_event.wait, should_stop=stop_event.is_set
                )
            except Stopped:
                break  # uncommitted: the next run redelivers this batch
            stats.consumed = len(values)
            dead_letters.flush()
            try:
                source.commit(asynchronous=False)
            except KafkaException as exc:  # partitions moved in a rebalance: a redelivery is harmless
                log.warning("%s: commit failed (%s); the batch may be redelivered", sink.name, exc)
            totals.add(stats)
            if on_batch:
                on_batch(totals)
    finally:
        source.close()
    return totals
