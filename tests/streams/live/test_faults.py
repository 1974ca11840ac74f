"""Bad input on the real broker: dead-lettered with its position, and the partition moves on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from confluent_kafka import Producer

from infra import stack
from schemas import models
from tests.streams.live.fixtures import (
    WorkerProcess,
    live_settings,
)
from tests.streams.test_kafka_contract import _drain

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


def test_undecodable_record_is_dead_lettered_and_the_partition_moves_on(
    stack_endpoints: stack.Endpoints, tmp_path: Path
) -> None:
    from tests.processors.builders import FIT, form

    settings = live_settings(stack_endpoints, partitions=1)
    topic = settings.topic("form_fills")
    producer = Producer(settings.kafka_config())
    now = datetime.now(UTC)
    producer.produce(topic, b"\x00\x00\x00\x00\x07not avro at all", key=b"v-1")
    producer.produce(topic, b'{"event_id": "e-2", "visitor_id": "v-1"}', key=b"v-1")
    good = form(now, "v-2", "lee@acme.io", "demo_request", **FIT)
    producer.produce(topic, good.model_dump_json().encode(), key=b"v-2")
    assert producer.flush(30) == 0
    worker = WorkerProcess(settings, tmp_path).start()
    try:
        dead = _drain(settings, "deadletter", 2, timeout=90)
        [(_, mql)] = _drain(settings, "mql", 1, timeout=60)
    finally:
        worker.stop()
    assert sorted(d.position for _, d in dead) == ["0:0", "0:1"]
    assert all(isinstance(d, models.DeadLetter) and d.source_topic == topic for _, d in dead)
    assert "occurred_at" in dead[1][1].error or "occurred_at" in dead[0][1].error
    assert mql.email == "lee@acme.io"
    assert "lee@acme.io" not in worker.log(), "raw emails must not reach the logs"
