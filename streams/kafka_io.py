"""Kafka clients and serde for one configured cluster: the only place they are built."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import Consumer, Message, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient

from schemas import models
from schemas.catalog import BY_MODEL, STREAMS, Role, record_key
from schemas.serde import AvroSerde
from streams.settings import Settings

# httpx's default in confluent_kafka's client is no timeout at all: a registry that accepts a
# connection and never answers (a hung JVM) would hang the caller, and the live worker's event loop.
REGISTRY_TIMEOUT_S = 5.0


def registry(settings: Settings, **extra: object) -> SchemaRegistryClient:
    return SchemaRegistryClient({"timeout": REGISTRY_TIMEOUT_S, **settings.registry_config(), **extra})


def avro_serde(settings: Settings) -> AvroSerde | None:
    """The serde waits out a registry outage with its own capped backoff (logged once), so the
    client's silent retries (sleeps of up to 20 s) are switched off."""
    return AvroSerde(registry(settings, **{"max.retries": 0})) if settings.registry_url else None


def output_schemas(settings: Settings) -> list[tuple[str, str]]:
    """(topic, Avro name) of everything the worker writes as Avro: registered before it is needed."""
    return [(settings.topic(s.name), s.avro_name) for s in STREAMS if s.role is not Role.input]


def coordinates(msg: Message[bytes, bytes]) -> tuple[str, int, int]:
    """(topic, partition, offset) of a consumed message that carries no error: the client always
    sets them then (its type stubs say optional, for error events)."""
    topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
    if topic is None or partition is None or offset is None:
        raise ValueError(f"consumed message without topic, partition or offset: {msg.error()}")
    return topic, partition, offset


def producer(settings: Settings, **extra: object) -> Producer:
    conf = {"linger.ms": 20, "enable.idempotence": True, "compression.type": "lz4", **extra}
    return Producer(settings.kafka_config(**conf))


def consumer(settings: Settings, group_id: str, topics: Iterable[str], **extra: object) -> Consumer:
    conf = {
        "group.id": group_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
        **extra,
    }
    c = Consumer(settings.kafka_config(**conf))
    c.subscribe(list(topics))
    return c


@dataclass
class RecordWriter:
    """Writes contract records to their configured topics, Avro-encoded and keyed."""

    settings: Settings
    producer: Producer
    serde: AvroSerde

    failed: list[str] = field(default_factory=list)  # delivery errors since the last flush

    def write(self, record: models.Record) -> str:
        """Encoding may register the topic's schema: while the registry is away that waits for it
        (``AvroSerde``), so a stage stalls instead of failing; the worker registers its output
        schemas at start (``output_schemas``) so that this practically never happens mid-run."""
        spec = BY_MODEL[type(record)]
        topic = self.settings.topic(spec.name)
        key = record_key(spec, record)
        self.send(topic, self.serde.encode(topic, record), key.encode() if key else None)
        return topic

    def send(self, topic: str, value: bytes | None, key: bytes | None = None, partition: int | None = None) -> None:
        """Any record (None: a tombstone), with its delivery checked at the next ``flush``."""
        if partition is None:
            self.producer.produce(topic, value=value, key=key, on_delivery=self._delivered)
        else:
            self.producer.produce(topic, value=value, key=key, partition=partition, on_delivery=self._delivered)
        self.producer.poll(0)

    def _delivered(self, err: object, msg: object) -> None:
        if err is not None:
            self.failed.append(f"{msg.topic()}: {err}")  # type: ignore[attr-defined]

    def flush(self, timeout: float | None = 30.0) -> None:
        """Until Kafka has acknowledged everything written; raises if anything was refused, so the
        caller never acknowledges an input whose outputs are lost (at-least-once).

        ``timeout=None`` sets no deadline of our own: a broker outage only delays the flush, and a
        record Kafka still has not taken after librdkafka's ``message.timeout.ms`` (5 minutes by
        default) fails, which raises here. The live worker flushes this way, synchronously: an
        agent body that yields to the event loop lets Faust fill and trim its stream buffers
        underneath it, and a kill test caught it skipping input records that way.
        """
        if timeout is None:
            while self.producer.flush(1.0):
                pass
        elif remaining := self.producer.flush(timeout):
            raise RuntimeError(f"{remaining} records not acknowledged by Kafka within {timeout}s")
        self._raise_refused()

    def _raise_refused(self) -> None:
        if self.failed:
            failed, self.failed = self.failed, []
            raise RuntimeError(f"{len(failed)} records refused by Kafka, first: {failed[0]}")
