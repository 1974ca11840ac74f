"""A sink as its own consumer group on the real broker: everything written once, restarts harmless."""

from __future__ import annotations

import threading
import time

import pytest

from schemas import models
from sinks.runner import STREAMS_OF, run_sink
from sinks.warehouse.sink import WarehouseSink
from streams.kafka_io import RecordWriter, avro_serde, producer
from streams.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _run_until(sink, settings: Settings, expected: int, group: str) -> int:
    stop = threading.Event()
    seen = {"n": 0}

    def on_batch(stats) -> None:
        seen["n"] = stats.consumed
        if stats.consumed >= expected:
            stop.set()

    timer = threading.Timer(120, stop.set)  # a safety stop only; a loaded broker can be slow to assign
    timer.start()
    try:
        run_sink(sink, settings, STREAMS_OF["warehouse"], stop, group_id=group, on_batch=on_batch)
    finally:
        timer.cancel()
    return seen["n"]


def test_warehouse_sink_consumes_output_topics_and_a_replay_writes_nothing_twice(
    kafka_settings: Settings, decisions: list[models.Record], tmp_path
) -> None:
    writer = RecordWriter(kafka_settings, producer(kafka_settings), avro_serde(kafka_settings))
    for record in decisions:
        writer.write(record)
    writer.flush()
    # one undecodable record on an output topic: dead-lettered, the rest flows
    raw = producer(kafka_settings)
    raw.produce(kafka_settings.topic("alerts"), b"\x00\x00\x00\x7f\xffjunk")
    raw.flush(30)
    sink = WarehouseSink(duckdb_path=str(tmp_path / "wh.duckdb"))
    total = len(decisions) + 1
    assert _run_until(sink, kafka_settings, total, f"wh-{time.time_ns()}") == total
    db = sink._connect()
    assert db.query("SELECT COUNT(*) AS n FROM fact_mql")[0]["n"] == 4
    # the whole topic again under a new group (a sink reset / replay): same rows, no duplicates
    assert _run_until(sink, kafka_settings, total, f"wh-{time.time_ns()}") == total
    assert db.query("SELECT COUNT(*) AS n FROM fact_mql")[0]["n"] == 4
    lifecycle = sum(isinstance(r, models.Lifecycle) for r in decisions)
    assert db.query("SELECT COUNT(*) AS n FROM fact_lifecycle")[0]["n"] == lifecycle
