"""One input partition goes quiet for a minute while the others flow: decisions keep coming
(the quiet partition is confirmed read, not waited for) and still equal replay's."""

from __future__ import annotations

import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from infra import stack
from schemas.catalog import STREAMS
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
from tools.workload import WorkloadConfig, generate

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
CFG = WorkloadConfig(seed=29, events=6_000, accounts=40, contacts=500, days=20, start=datetime(2026, 9, 1, tzinfo=UTC))
PARTITIONS = 4
QUIET = ("web_visits", 1)  # the busiest topic: one of its partitions says nothing for a while
QUIET_S = 60.0


def _partition(stream: str, value: dict) -> int:
    key = next((str(value[k]) for k in INPUT_KEYS[stream] if value.get(k)), "")
    return zlib.crc32(key.encode()) % PARTITIONS


Event = tuple[str, dict, int]


def _history(path: Path) -> tuple[list[Event], list[Event], list[Event]]:
    """The workload in thirds of its events; the quiet partition has none in the middle one."""
    events = list(generate(CFG))
    times = [datetime.fromisoformat(v["occurred_at"]) for _, v in events]
    lo, hi = times[len(times) // 3], times[2 * len(times) // 3]
    thirds: tuple[list[Event], list[Event], list[Event]] = ([], [], [])
    for (stream, value), at in zip(events, times, strict=True):
        p = _partition(stream, value)
        third = 0 if at < lo else 1 if at < hi else 2
        if third != 1 or (stream, p) != QUIET:
            thirds[third].append((stream, value, p))
    topics = {s.name: s.default_topic for s in STREAMS}
    with path.open("wb") as fh:
        for stream, value, _ in (e for part in thirds for e in part):
            fh.write(orjson.dumps({"topic": topics[stream], "value": value}) + b"\n")
    return thirds


def _produce(settings: Settings, events: list[Event], seconds: float = 0.0) -> None:
    """In order, spread over ``seconds`` of wall time, each to its partition."""
    producer = kafka_io.producer(settings, **{"linger.ms": 5})
    start = time.monotonic()
    for i, (stream, value, p) in enumerate(events):
        if seconds:
            ahead = start + seconds * i / len(events) - time.monotonic()
            if ahead > 0.01:
                time.sleep(ahead)
        key = next((str(value[k]) for k in INPUT_KEYS[stream] if value.get(k)), None)
        producer.produce(settings.topic(stream), orjson.dumps(value), key=key.encode() if key else None, partition=p)
        producer.poll(0)
    assert producer.flush(60) == 0


def test_a_partition_quiet_for_a_minute_holds_nothing_back(stack_endpoints: stack.Endpoints, tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    first, middle, last = _history(history)
    expected = replay_decisions(history, until=None)
    settings = live_settings(stack_endpoints, partitions=PARTITIONS)
    assert any((s, p) == QUIET for s, _, p in first) and not any((s, p) == QUIET for s, _, p in middle)
    worker = WorkerProcess(settings, tmp_path, lateness_ms=LATENESS_BEYOND_HISTORY_MS)
    _produce(settings, first)
    worker.start()
    try:
        # ``routed``: events through the identity stage (anonymous visits never identified stop there)
        worker.wait_for(lambda s: s.get("routed", 0) >= len(first) and not s.get("waiting"), timeout=180)
        before = worker.stats()
        _produce(settings, middle, seconds=QUIET_S)  # the quiet partition says nothing all this time
        during = worker.wait_for(lambda s: s.get("routed", 0) >= before["routed"] + len(middle), timeout=30)
        _produce(settings, last)
        got = read_decisions(settings, expected)
    finally:
        code = worker.stop()
    assert during["decided"] > before["decided"] and during["mqls"] > before["mqls"], (before, during)
    assert not diff(expected, got), diff(expected, got) + "\n" + worker.log()[-3000:]
    assert code == 0, worker.log()[-3000:]
