"""The schema registry goes away on the real stack: the worker waits for it, dead-letters nothing
valid, does not exit, says so in its stats line and log, and ends with replay's decisions.

The test runs its own registry (persistent H2 storage, restarted on the same port, so the outage
is a real one: connections refused, then the same schemas and ids again), so the session's
registry keeps serving the other tests whatever happens here.
"""

from __future__ import annotations

import copy
import io
import json
import struct
import time
from datetime import UTC, datetime
from pathlib import Path

import fastavro
import orjson
import pytest
from confluent_kafka.schema_registry import Schema

from infra import registry, stack
from schemas import avro
from schemas.catalog import BY_NAME, INPUTS, STREAMS
from schemas.serde import subject_for
from streams import kafka_io
from streams.settings import Settings
from tests.streams.live.fixtures import (
    INPUT_KEYS,
    LATENESS_BEYOND_HISTORY_MS,
    WorkerProcess,
    diff,
    live_settings,
    read_decisions,
    replay_decisions,
)
from tests.streams.test_kafka_contract import _drain
from tools.workload import WorkloadConfig, write_jsonl

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
CFG = WorkloadConfig(seed=31, events=6_000, accounts=60, contacts=600, days=15, start=datetime(2026, 9, 1, tzinfo=UTC))
OUTAGE_S = 15.0
WAITING = "schema registry unavailable"
BACK = "schema registry is back after"


class AvroHistory:
    """Produces history lines as Confluent-wire Avro with a chosen writer-schema version per input:
    v1 is our ``.avsc``; v2 adds an optional field (compatible: the worker's reader schema skips
    it) and has its own id, one the worker has never fetched."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = kafka_io.registry(settings)
        self.ids: dict[int, dict[str, int]] = {1: {}, 2: {}}
        self.schemas: dict[int, dict[str, dict]] = {1: {}, 2: {}}
        for spec in INPUTS:
            v1 = json.loads(avro.schema_json(spec.avro_name))
            v2 = copy.deepcopy(v1)
            v2["fields"].append({"name": "outage_note", "type": ["null", "string"], "default": None})
            for version, schema in ((1, v1), (2, v2)):
                subject = subject_for(settings.topic(spec.name))
                self.ids[version][spec.name] = self.client.register_schema(subject, Schema(json.dumps(schema), "AVRO"))
                self.schemas[version][spec.name] = fastavro.parse_schema(schema)
        assert set(self.ids[1].values()).isdisjoint(self.ids[2].values())
        self.producer = kafka_io.producer(settings)

    def produce(self, path: Path, start: int, stop: int, version: int) -> int:
        """Lines ``[start, stop)``, keyed as the JSON producer of the other tests keys them."""
        n = 0
        with path.open("rb") as fh:
            for i, line in enumerate(fh):
                if not start <= i < stop:
                    continue
                envelope = orjson.loads(line)
                stream = next(s.name for s in STREAMS if s.default_topic == envelope["topic"])
                value = envelope["value"]
                datum = avro.to_datum(BY_NAME[stream].model.model_validate(value))
                if version == 2:
                    datum["outage_note"] = f"line {i}"
                out = io.BytesIO()
                out.write(struct.pack(">bI", 0, self.ids[version][stream]))
                fastavro.schemaless_writer(out, self.schemas[version][stream], datum)
                key = next((str(value[k]) for k in INPUT_KEYS[stream] if value.get(k)), None)
                ts = int(datetime.fromisoformat(value["occurred_at"]).timestamp() * 1000)
                self.producer.produce(
                    self.settings.topic(stream), out.getvalue(), key=key.encode() if key else None, timestamp=ts
                )
                n += 1
                if n % 2000 == 0:
                    self.producer.poll(0)
        assert self.producer.flush(60) == 0
        return n


def _outage(worker: WorkerProcess, reg: dict, consumed: int, started: float) -> dict:
    """The worker is waiting, alive, has handed on nothing it could not decode and dead-lettered
    nothing; after ``OUTAGE_S`` the registry comes back on its port."""
    waiting = worker.wait_for(lambda s: s.get("registry") == "waiting", timeout=60)
    time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - started)))
    during = worker.wait_for(lambda s: s.get("at_ms", 0) > waiting["at_ms"])  # a fresh line, still alive
    assert during["registry"] == "waiting" and during["registry_waits"] >= 1, during
    assert during["consumed"] == consumed and during["dead_letters"] == 0, during
    registry.restart(reg)
    return during


def test_registry_outage_waits_and_loses_nothing(stack_endpoints: stack.Endpoints, tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    lines = write_jsonl(CFG, history)
    cuts = [0, lines // 3, 2 * lines // 3, lines]
    reg = registry.start(tmp_path / "own-registry")  # its own: the session's registry keeps running
    worker: WorkerProcess | None = None
    try:
        endpoints = stack.Endpoints(
            bootstrap_servers=stack_endpoints.bootstrap_servers,
            registry_url=reg["endpoint"],
            redis_url=stack_endpoints.redis_url,
            postgres_dsn=stack_endpoints.postgres_dsn,
        )
        settings = live_settings(endpoints)
        source = AvroHistory(settings)
        worker = WorkerProcess(settings, tmp_path, lateness_ms=LATENESS_BEYOND_HISTORY_MS).start()

        # 1. Mid-stream: the worker has fetched the v1 schemas; the registry stops (connections
        # refused) and records arrive with v2 ids it never fetched.
        n1 = source.produce(history, cuts[0], cuts[1], version=1)
        worker.wait_for(lambda s: s.get("consumed", 0) >= n1 and s.get("decided", 0) > 0, timeout=180)
        registry.stop(reg)
        down = time.monotonic()
        n2 = source.produce(history, cuts[1], cuts[2], version=2)
        _outage(worker, reg, n1, down)
        worker.wait_for(lambda s: s.get("registry") == "ok" and s.get("consumed", 0) >= n1 + n2, timeout=180)
        assert worker.proc is not None and worker.proc.poll() is None
        first = worker.log()
        assert first.count(WAITING) == 1 and first.count(BACK) == 1, "one warning, one info: " + first[-3000:]
        worker.stop()

        # 2. A worker starting while the registry is away: it cannot register its output schemas
        # (nor fetch any writer schema: a new process has cached none) and waits for both.
        registry.stop(reg)
        down = time.monotonic()
        n3 = source.produce(history, cuts[2], cuts[3], version=1)
        worker.start()
        _outage(worker, reg, 0, down)
        final = worker.wait_for(lambda s: s.get("registry") == "ok" and s.get("consumed", 0) >= n3, timeout=180)

        expected = replay_decisions(history, until=None)
        got = read_decisions(settings, expected)
        assert not diff(expected, got), diff(expected, got) + "\n" + worker.log()[-3000:]
        assert final["dead_letters"] == 0
        assert not _drain(settings, "deadletter", 1, timeout=3), "a valid record was dead-lettered"
        assert worker.proc is not None and worker.proc.poll() is None, "the worker exited"
        assert worker.log().count(WAITING) == 2, worker.log()[-3000:]
    finally:
        if worker is not None:
            worker.stop()
        registry.stop(reg)
