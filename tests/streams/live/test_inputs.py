"""The input reader on its own broker, restarted: it goes on claiming its partitions fully read.

Those claims are what lets an event pass a quiet partition in the merges; the broker-restart
test once hung with events waiting for ever because librdkafka's admin client kept asking with
a fenced leader epoch after the restart."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from infra import kafka
from streams import kafka_io
from streams.live.inputs import InputReader
from streams.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
TOPIC = "reader.inputs"


def _read_until_claimed(reader: InputReader, next_offset: dict, after_ms: int, timeout_s: float) -> dict:
    """Poll until every assigned partition is claimed fully read at or after ``after_ms``; returns
    the claims seen last (partition → wall ms, or None)."""
    deadline = time.monotonic() + timeout_s
    claims: dict = {}
    while time.monotonic() < deadline:
        for message in reader.poll(1000):
            next_offset[(message.topic(), message.partition())] = message.offset() + 1
        claims = {tp[1]: reader.empty_at(tp, next_offset.get(tp)) for tp in sorted(reader.assigned)}
        if len(claims) == 2 and all(at is not None and at >= after_ms for at in claims.values()):
            break
        time.sleep(0.05)
    return claims


def test_partitions_are_claimed_read_again_after_a_broker_restart(tmp_path: Path) -> None:
    broker = kafka.start(tmp_path / "broker")
    reader = None
    try:
        settings = Settings(bootstrap_servers=broker["endpoint"])
        admin = AdminClient(settings.kafka_config())
        for future in admin.create_topics([NewTopic(TOPIC, 2, 1)]).values():
            future.result(timeout=30)
        producer = kafka_io.producer(settings)
        for i in range(40):
            producer.produce(TOPIC, b"x", partition=i % 2)
        producer.flush(30)
        reader = InputReader(settings, "reader-test", [TOPIC], lambda tps: None)
        next_offset: dict = {}
        before = _read_until_claimed(reader, next_offset, 0, 60)
        assert all(at is not None for at in before.values()) and len(before) == 2, before

        broker = kafka.restart(broker)
        back_ms = int(time.time() * 1000)
        after = _read_until_claimed(reader, next_offset, back_ms, 60)
        assert len(after) == 2 and all(at is not None and at >= back_ms for at in after.values()), after
        assert next_offset == {(TOPIC, 0): 20, (TOPIC, 1): 20}
    finally:
        if reader is not None:
            reader.close()
        kafka.stop(broker)
