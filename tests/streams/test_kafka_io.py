"""The record writer on the real broker: a record Kafka refuses is an error, never a silent loss."""

from __future__ import annotations

import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from streams.kafka_io import RecordWriter, avro_serde, producer
from streams.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_a_refused_record_makes_flush_raise(kafka_settings: Settings) -> None:
    topic = f"small-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(kafka_settings.kafka_config())
    futures = admin.create_topics([NewTopic(topic, 1, 1, config={"max.message.bytes": "2000"})])
    futures[topic].result(30)
    writer = RecordWriter(kafka_settings, producer(kafka_settings), avro_serde(kafka_settings))  # type: ignore[arg-type]
    writer.send(topic, b"fits")
    writer.flush()  # accepted: no error
    writer.send(topic, os.urandom(20_000))  # incompressible and over the topic's limit: the broker refuses it
    with pytest.raises(RuntimeError, match="refused by Kafka"):
        writer.flush(timeout=None)  # the live worker's flush: no deadline, yet a refusal still ends it
    writer.send(topic, b"fits again")
    writer.flush()  # the error was reported once; the writer goes on


def test_workers_registering_a_new_subject_at_once_agree_on_its_schema_id(kafka_settings: Settings) -> None:
    """Two workers starting together both register each output subject; the registry answers the
    loser 409 (Apicurio), which must not stop it (bench live --workers 2 crashed on it)."""
    topics = [f"race-{uuid.uuid4().hex[:8]}.lead.mql" for _ in range(8)]
    serdes = [avro_serde(kafka_settings) for _ in range(4)]  # each its own registry client
    start = threading.Barrier(len(serdes))

    def register(serde: object) -> list[int]:
        start.wait()
        return [serde.schema_id(topic, "mql") for topic in topics]  # type: ignore[attr-defined]

    with ThreadPoolExecutor(len(serdes)) as pool:
        ids = list(pool.map(register, serdes))
    assert all(row == ids[0] for row in ids), ids
