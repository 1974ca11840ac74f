"""Faults on the real broker: a worker killed with -9, a broker restart, an undecodable record.

Each compares the decisions with ``leadstream replay`` on the same history: nothing lost,
nothing decided twice in two different ways.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from infra import kafka, stack
from tests.streams.live.fixtures import (
    LATENESS_BEYOND_HISTORY_MS,
    WorkerProcess,
    diff,
    live_settings,
    produce_history,
    read_decisions,
    replay_decisions,
)
from tools.workload import WorkloadConfig, write_jsonl

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
CFG = WorkloadConfig(seed=13, events=12_000, accounts=80, contacts=900, days=20, start=datetime(2026, 9, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "history.jsonl"
    write_jsonl(CFG, path)
    return path


def _until() -> datetime:
    return datetime.now(UTC) + timedelta(days=1)


def test_kill_minus_nine_three_times_loses_nothing(
    stack_endpoints: stack.Endpoints, history: Path, tmp_path: Path
) -> None:
    settings = live_settings(stack_endpoints)
    lines = sum(1 for _ in history.open("rb"))
    cuts = [0, lines // 4, lines // 2, 3 * lines // 4, lines]
    rng = random.Random(606)
    # The SLA ticker trails the wall clock by more than the history's age, so between the parts
    # (while the inputs are quiet) it fires nothing replay would not fire: the comparison is exact.
    worker = WorkerProcess(settings, tmp_path, lateness_ms=LATENESS_BEYOND_HISTORY_MS)
    at_kill = []
    for part in range(3):
        produce_history(settings, history, cuts[part], cuts[part + 1])
        worker.start()
        # Killed mid-stream: once it is deciding, at a random moment of the next second.
        worker.wait_for(lambda s: s.get("decided", 0) > 0)
        time.sleep(rng.uniform(0.0, 1.0))
        at_kill.append(worker.stats())
        worker.kill()
    produce_history(settings, history, cuts[3], cuts[4])
    expected = replay_decisions(history, until=None)
    worker.start()
    try:
        got = read_decisions(settings, expected)
    finally:
        worker.stop()
    assert not diff(expected, got), diff(expected, got) + "\n" + worker.log()[-3000:]


def test_broker_restart_mid_stream_is_survived(stack_endpoints: stack.Endpoints, history: Path, tmp_path: Path) -> None:
    broker = kafka.start(tmp_path / "own-broker")  # its own broker, so the session's keeps running
    try:
        endpoints = stack.Endpoints(
            bootstrap_servers=broker["endpoint"],
            registry_url=stack_endpoints.registry_url,
            redis_url=stack_endpoints.redis_url,
            postgres_dsn=stack_endpoints.postgres_dsn,
        )
        settings = live_settings(endpoints)
        produce_history(settings, history)
        expected = replay_decisions(history, _until())
        worker = WorkerProcess(settings, tmp_path).start()
        try:
            worker.wait_for(lambda s: s.get("decided", 0) > 0)
            broker = kafka.restart(broker)
            got = read_decisions(settings, expected, timeout=400)
        finally:
            worker.stop()
        assert not diff(expected, got), diff(expected, got) + "\n" + worker.log()[-3000:]
    finally:
        kafka.stop(broker)
