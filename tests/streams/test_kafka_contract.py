"""The wire contract through the real broker and schema registry: Avro, JSON, dead letters."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, ConfigResource
from confluent_kafka.schema_registry import Schema

from schemas import avro, models
from schemas.catalog import BY_NAME
from schemas.serde import ValueFormat, decode_value, subject_for
from streams.kafka_io import avro_serde, consumer, registry
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.processors.builders import FIT, account, at, contact, form, visit
from tools.worker_process import WorkerProcess, worker_env

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def _drain(settings: Settings, stream: str, expected: int, timeout: float = 60) -> list:
    """Read ``expected`` records of one output stream (decoded as its model)."""
    spec = BY_NAME[stream]
    serde = avro_serde(settings)
    c = consumer(settings, f"reader-{time.monotonic_ns()}", [settings.topic(stream)])
    got: list = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < expected and time.monotonic() < deadline:
            for msg in c.consume(num_messages=100, timeout=0.5):
                if msg.error():
                    continue
                datum = decode_value(msg.value(), ValueFormat.avro, spec.avro_name, serde)
                got.append((msg, spec.model.model_validate(datum)))
    finally:
        c.close()
    return got


def test_avro_inputs_round_trip_through_broker_and_registry(kafka_settings: Settings) -> None:
    serde = avro_serde(kafka_settings)
    records = [
        visit(at(0), "v1", "/pricing", utm_source="google", duration_seconds=31),
        form(at(1), "v1", "dana@acme.io", "demo_request", **FIT),
        contact(at(2), "c-1", "dana@acme.io", account_id="acc-1"),
    ]
    producer = Producer(kafka_settings.kafka_config())
    for record in records:
        spec = {models.WebVisit: "web_visits", models.FormFill: "form_fills"}.get(type(record), "crm_changes")
        topic = kafka_settings.topic(spec)
        producer.produce(topic, serde.encode(topic, record))
    assert producer.flush(30) == 0
    for stream, original in zip(("web_visits", "form_fills", "crm_changes"), records, strict=True):
        [(msg, decoded)] = _drain(kafka_settings, stream, 1)
        assert decoded == original
        assert msg.value()[0] == 0, "Confluent wire format: magic byte 0"
        schema_id = int.from_bytes(msg.value()[1:5], "big")
        registered = registry(kafka_settings).get_schema(schema_id)
        assert registered.schema_str == avro.schema_json(original.avro_name)
        subject = subject_for(kafka_settings.topic(stream))
        assert subject in registry(kafka_settings).get_subjects()


def _wait_worker(worker: WorkerProcess, records: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while worker.stats().get("consumed", 0) < records and time.monotonic() < deadline:
        worker.check_alive()
        time.sleep(0.2)
    assert worker.stats().get("consumed", 0) >= records, f"{worker.stats()}\n{worker.log_tail()}"


def test_malformed_records_are_dead_lettered_and_valid_ones_flow_on(kafka_settings: Settings, tmp_path: Path) -> None:
    s = kafka_settings
    serde = avro_serde(s)
    # A producer on a newer FormFill schema with an enum symbol this engine does not know.
    newer = avro.parsed_schema("form_fill")
    raw_schema = avro.schema_json("form_fill").replace('"other"]', '"other", "partner_intro"]')
    form_topic = s.topic("form_fills")
    newer_id = registry(s).register_schema(f"{form_topic}-newer", Schema(raw_schema, "AVRO"))
    import io

    import fastavro
    import orjson

    body = io.BytesIO()
    datum = avro.to_datum(form(at(3), "v9", "x@acme.io", "other"))
    datum["form_type"] = "partner_intro"
    fastavro.schemaless_writer(body, fastavro.parse_schema(orjson.loads(raw_schema)), datum)
    unknown_enum_avro = b"\x00" + newer_id.to_bytes(4, "big") + body.getvalue()
    assert newer  # the reader schema stays ours

    good = [
        account(at(-5), "acc-1", "acme.io"),
        visit(at(0), "v1", "/pricing"),
        form(at(1), "v1", "dana@acme.io", "demo_request", **FIT),
    ]
    bad = {
        "missing required field": (
            "web_visits",
            b'{"event_id": "b1", "visitor_id": "v", "url": "https://x.io/"}',
            "occurred_at",
        ),
        "wrong type": (
            "web_visits",
            b'{"event_id": "b2", "occurred_at": "2026-03-02T09:00:00Z", "visitor_id": "v",'
            b' "url": "/x", "duration_seconds": "long"}',
            "duration_seconds",
        ),
        "unparsable time": (
            "web_visits",
            b'{"event_id": "b3", "occurred_at": "last tuesday", "visitor_id": "v", "url": "/x"}',
            "occurred_at",
        ),
        "unknown enum (JSON)": (
            "form_fills",
            b'{"event_id": "b4", "occurred_at": "2026-03-02T09:00:00Z", "visitor_id": "v",'
            b' "email": "a@b.io", "form_type": "webinar"}',
            "form_type",
        ),
        "unknown enum (Avro)": ("form_fills", unknown_enum_avro, "partner_intro"),
        "undecodable bytes": ("crm_changes", b"\x00\x00\x00\x7f\xffgarbage", "schema id"),
        "not JSON": ("web_visits", b"{oops", "invalid JSON"),
    }
    producer = Producer(s.kafka_config())
    for record in good:
        stream = {models.WebVisit: "web_visits", models.FormFill: "form_fills"}.get(type(record), "crm_changes")
        topic = s.topic(stream)
        producer.produce(topic, serde.encode(topic, record), key=b"k")
    for stream, raw, _ in bad.values():
        producer.produce(s.topic(stream), raw, key=b"k")
    assert producer.flush(30) == 0

    worker = WorkerProcess(
        worker_env(s, tmp_path / "faust", stats_every_s=0.5, app_version=f"contract-{uuid.uuid4().hex[:8]}"),
        tmp_path / "worker.log",
    ).start()
    try:
        _wait_worker(worker, len(good) + len(bad))
        mqls = [r for _, r in _drain(s, "mql", 1)]
    finally:
        assert worker.stop() == 0, worker.log_tail()

    dead = [r for _, r in _drain(s, "deadletter", len(bad))]
    assert len(dead) == len(bad)
    by_raw = {d.raw: d for d in dead}
    for name, (stream, raw, needle) in bad.items():
        letter = by_raw[raw]
        assert letter.source_topic == s.topic(stream), name
        partition, offset = letter.position.split(":")
        assert partition.isdigit() and offset.isdigit(), name
        assert needle in letter.error, f"{name}: {letter.error}"
    assert [m.email for m in mqls] == ["dana@acme.io"], "valid records around the bad ones still decide"


def test_topic_creation_is_idempotent_with_compacted_state(kafka_settings: Settings) -> None:
    again = ensure_topics(kafka_settings)
    assert set(again.values()) == {"exists"}
    admin = AdminClient(kafka_settings.kafka_config())
    resource = ConfigResource(ConfigResource.Type.TOPIC, kafka_settings.topic("contact_state"))
    config = admin.describe_configs([resource])[resource].result(30)
    assert config["cleanup.policy"].value == "compact"
    visits = ConfigResource(ConfigResource.Type.TOPIC, kafka_settings.topic("web_visits"))
    assert admin.describe_configs([visits])[visits].result(30)["cleanup.policy"].value == "delete"
    meta = admin.list_topics(timeout=30).topics[kafka_settings.topic("web_visits")]
    assert len(meta.partitions) == kafka_settings.partitions
