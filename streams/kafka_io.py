"""Kafka clients and serde for one configured cluster: the only place they are built."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient

from leadstream.settings import Settings
from schemas import models
from schemas.catalog import BY_MODEL, record_key
from schemas.serde import AvroSerde


def registry(settings: Settings) -> SchemaRegistryClient:
    return SchemaRegistryClient(settings.registry_config())


def avro_serde(settings: Settings) -> AvroSerde | None:
    return AvroSerde(registry(settings)) if settings.registry_url else None


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

    def write(self, record: models.Record) -> str:
        spec = BY_MODEL[type(record)]
        topic = self.settings.topic(spec.name)
        key = record_key(spec, record)
        self.producer.produce(topic, value=self.serde.encode(topic, record), key=key.encode() if key else None)
        self.producer.poll(0)
        return topic

    def flush(self, timeout: float = 30.0) -> None:
        remaining = self.producer.flush(timeout)
        if remaining:
            raise RuntimeError(f"{remaining} records not acknowledged by Kafka within {timeout}s")
