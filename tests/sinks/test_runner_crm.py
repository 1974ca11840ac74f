"""The CRM sink through the runner on the real broker: the portal is prepared first, refused
records reach ``lead.deadletter`` with their source topic and position, an outage is waited out,
committed offsets survive a restart."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from schemas import models
from schemas.catalog import BY_NAME
from schemas.serde import ValueFormat, decode_value
from sinks.base import RetryPolicy
from sinks.crm.hubspot import HubSpotAdapter
from sinks.crm.sink import CrmSink
from sinks.runner import STREAMS_OF, DeliveryStats, run_sink
from streams.kafka_io import RecordWriter, avro_serde, consumer, producer
from streams.settings import Settings
from tests.sinks.builders import contact_state
from tests.sinks.servers import FakeHubSpot, serve

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
FAST = RetryPolicy(initial_s=0.05, max_backoff_s=0.2, max_elapsed_s=None)


def state(i: int, email: str | None = None) -> models.ContactState:
    return contact_state(f"c-{i}", email or f"p{i}@acme.io", minutes=i)


def produce(settings: Settings, records: list[models.Record]) -> None:
    writer = RecordWriter(settings, producer(settings), avro_serde(settings))
    for record in records:
        writer.write(record)
    writer.flush()


def run_until(sink: CrmSink, settings: Settings, group: str, expected: int) -> DeliveryStats:
    stop = threading.Event()
    timer = threading.Timer(60, stop.set)
    timer.start()

    def on_batch(totals: DeliveryStats) -> None:
        if totals.consumed >= expected:
            stop.set()

    try:
        return run_sink(sink, settings, STREAMS_OF["crm"], stop, group_id=group, policy=FAST, on_batch=on_batch)
    finally:
        timer.cancel()


def dead_letters(settings: Settings, expected: int) -> list[tuple[object, models.DeadLetter]]:
    serde, spec = avro_serde(settings), BY_NAME["deadletter"]
    reader = consumer(settings, f"dlq-reader-{time.monotonic_ns()}", [settings.topic("deadletter")])
    got: list = []
    deadline = time.monotonic() + 30
    try:
        while len(got) < expected and time.monotonic() < deadline:
            for msg in reader.consume(num_messages=100, timeout=0.5):
                if not msg.error():
                    datum = decode_value(msg.value(), ValueFormat.avro, spec.avro_name, serde)
                    got.append(spec.model.model_validate(datum))
    finally:
        reader.close()
    return got


def test_refused_record_goes_to_the_dead_letter_topic_and_the_rest_is_written_once(kafka_settings: Settings) -> None:
    api = FakeHubSpot(properties={"email", "lifecyclestage"})  # a fresh portal: the runner prepares it
    records = [state(i) for i in range(6)] + [state(99, email="no-at-sign")]
    produce(kafka_settings, records)
    api.fail_next(3, status=503)  # the CRM is down when the sink starts: waited out, nothing lost
    group = f"crm-{time.monotonic_ns()}"
    with serve(api) as url:
        sink = CrmSink(HubSpotAdapter(url, "test-token", timeout_s=5), RetryPolicy(0.05, 0.2, 1.0))
        stats = run_until(sink, kafka_settings, group, len(records))
        assert (stats.consumed, stats.written, stats.dead_letters) == (7, 6, 1)
        assert set(api.contacts) == {f"p{i}@acme.io" for i in range(6)} and set(api.writes.values()) == {1}
        assert "leadstream_score" in api.property_defs

        [letter] = dead_letters(kafka_settings, 1)
        assert letter.source_topic == kafka_settings.topic("contact_state")
        partition, offset = letter.position.split(":")
        assert int(partition) >= 0 and int(offset) >= 0
        assert letter.error.startswith("crm: CRM refused the batch (400)") and letter.key == b"c-99"
        refused = BY_NAME["contact_state"].model.model_validate(
            decode_value(letter.raw, ValueFormat.avro, "contact_state", avro_serde(kafka_settings))
        )
        assert refused.email == "no-at-sign"

        # A restart of the same group resumes after the committed offsets: only new records come.
        produce(kafka_settings, [state(7)])
        restarted = CrmSink(HubSpotAdapter(url, "test-token", timeout_s=5), RetryPolicy(0.05, 0.2, 1.0))
        again = run_until(restarted, kafka_settings, group, 1)
    assert again.consumed == 1 and api.writes["p7@acme.io"] == 1
    assert set(api.writes.values()) == {1}, "nothing committed was redelivered"
