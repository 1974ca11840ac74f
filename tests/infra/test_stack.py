"""The local stack against real processes: each component does real work through its real client."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from infra import stack
from infra.proc import pid_alive, port_open

pytestmark = pytest.mark.timeout(300)


def test_endpoints_are_loopback_and_exported(endpoints: stack.Endpoints) -> None:
    env = endpoints.as_env()
    assert set(env) == set(stack.ENV.values())
    assert endpoints.bootstrap_servers.startswith("127.0.0.1:")
    assert endpoints.registry_url.startswith("http://127.0.0.1:")
    assert endpoints.registry_url.endswith("/apis/ccompat/v7")
    assert endpoints.redis_url.startswith("redis://127.0.0.1:")
    assert endpoints.postgres_dsn.startswith("postgresql://leadstream@127.0.0.1:")
    assert endpoints.postgres_dsn.endswith("/leadstream")


def test_state_file_records_pids_ports_and_durations(state: dict) -> None:
    assert set(state["components"]) == set(stack.ALL)
    for name, rec in state["components"].items():
        assert pid_alive(rec["pid"]), name
        assert port_open(rec["port"]), name
        assert state["start_seconds"][name] > 0


def test_kafka_produce_consume_round_trip(endpoints: stack.Endpoints) -> None:
    topic = f"infra-test-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": endpoints.bootstrap_servers})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)

    producer = Producer({"bootstrap.servers": endpoints.bootstrap_servers, "enable.idempotence": True})
    for i in range(5):
        producer.produce(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
    assert producer.flush(30) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": endpoints.bootstrap_servers,
            "group.id": f"g-{topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    got: list[tuple[bytes, bytes]] = []
    try:
        for _ in range(60):
            msg = consumer.poll(1.0)
            if msg is None:
                if len(got) == 5:
                    break
                continue
            assert msg.error() is None, msg.error()
            got.append((msg.key(), msg.value()))
            if len(got) == 5:
                break
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    assert got == [(f"k{i}".encode(), f"v{i}".encode()) for i in range(5)]


def test_kafka_does_not_auto_create_topics(endpoints: stack.Endpoints) -> None:
    producer = Producer({"bootstrap.servers": endpoints.bootstrap_servers, "message.timeout.ms": 3000})
    errors: list[object] = []
    producer.produce("no-such-topic", b"x", on_delivery=lambda err, _msg: errors.append(err))
    producer.flush(10)
    assert errors and errors[0] is not None
    topics = AdminClient({"bootstrap.servers": endpoints.bootstrap_servers}).list_topics(timeout=10).topics
    assert "no-such-topic" not in topics


def test_redis_set_get(endpoints: stack.Endpoints) -> None:
    import redis

    client = redis.Redis.from_url(endpoints.redis_url)
    try:
        client.set("infra-test", "ok", ex=60)
        assert client.get("infra-test") == b"ok"
    finally:
        client.close()


def test_postgres_select_1_via_psql(endpoints: stack.Endpoints) -> None:
    out = subprocess.run(
        ["psql", endpoints.postgres_dsn, "-Atc", "select 1"], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"


def test_registry_register_and_lookup(endpoints: stack.Endpoints) -> None:
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    client = SchemaRegistryClient({"url": endpoints.registry_url})
    subject = f"infra-test-{uuid.uuid4().hex[:8]}-value"
    v1 = {
        "type": "record",
        "name": "Probe",
        "namespace": "infra.test",
        "fields": [{"name": "id", "type": "string"}],
    }
    schema_id = client.register_schema(subject, Schema(json.dumps(v1), "AVRO"))
    assert client.register_schema(subject, Schema(json.dumps(v1), "AVRO")) == schema_id  # idempotent
    assert json.loads(client.get_schema(schema_id).schema_str)["name"] == "Probe"
    latest = client.get_latest_version(subject)
    assert (latest.schema_id, latest.version) == (schema_id, 1)
    assert client.lookup_schema(subject, Schema(json.dumps(v1), "AVRO")).version == 1
    assert subject in client.get_subjects()

    # BACKWARD compatibility is enforced: a new field needs a default.
    client.set_compatibility(subject, "BACKWARD")
    bad = {**v1, "fields": [*v1["fields"], {"name": "score", "type": "int"}]}
    good = {**v1, "fields": [*v1["fields"], {"name": "score", "type": "int", "default": 0}]}
    assert client.test_compatibility(subject, Schema(json.dumps(bad), "AVRO")) is False
    assert client.test_compatibility(subject, Schema(json.dumps(good), "AVRO")) is True

    # The Confluent wire format round-trips through the registry.
    ctx = SerializationContext(subject.removesuffix("-value"), MessageField.VALUE)
    serializer = AvroSerializer(client, json.dumps(v1), conf={"auto.register.schemas": False})
    payload = serializer({"id": "lead-1"}, ctx)
    assert payload[0] == 0 and int.from_bytes(payload[1:5], "big") == schema_id
    assert AvroDeserializer(client)(payload, ctx) == {"id": "lead-1"}


def test_status_reports_every_component_ready(endpoints: stack.Endpoints, run_dir: Path) -> None:
    st = stack.status(run_dir)
    assert set(st) == set(stack.ALL)
    for name, info in st.items():
        assert info["alive"] and info["ready"], (name, info)


def test_up_twice_reuses_the_running_stack(endpoints: stack.Endpoints, state: dict, run_dir: Path) -> None:
    again = stack.up(run_dir)
    assert again == endpoints
    after = json.loads((run_dir / stack.STATE_FILE).read_text())
    assert {n: r["pid"] for n, r in after["components"].items()} == {
        n: r["pid"] for n, r in state["components"].items()
    }


def test_configured_endpoints_need_all_four(monkeypatch: pytest.MonkeyPatch, endpoints: stack.Endpoints) -> None:
    for var in stack.ENV.values():
        monkeypatch.delenv(var, raising=False)
    assert stack.configured_endpoints() is None
    env = endpoints.as_env()
    monkeypatch.setenv("LEADSTREAM_BOOTSTRAP_SERVERS", env["LEADSTREAM_BOOTSTRAP_SERVERS"])
    assert stack.configured_endpoints() is None
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert stack.configured_endpoints() == endpoints


def test_docker_available_is_a_bool() -> None:
    assert isinstance(stack.docker_available(), bool)
