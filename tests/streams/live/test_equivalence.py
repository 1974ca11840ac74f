"""The live worker decides exactly what ``leadstream replay`` decides on the same history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from infra import stack
from tests.streams.live.fixtures import (
    WorkerProcess,
    diff,
    live_settings,
    produce_history,
    read_decisions,
    replay_decisions,
)
from tools.workload import WorkloadConfig, write_jsonl

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
# Ends more than a week ago, so every SLA clock (and its escalations) is due by now: the live
# worker's wall-clock ticker and replay's --until fire the same timers.
CFG = WorkloadConfig(seed=11, events=4_000, accounts=40, contacts=400, days=20, start=datetime(2026, 9, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("live") / "history.jsonl"
    write_jsonl(CFG, path)
    return path


def test_worker_decisions_equal_replay(stack_endpoints: stack.Endpoints, history: Path, tmp_path: Path) -> None:
    settings = live_settings(stack_endpoints, partitions=4)
    produce_history(settings, history)
    expected = replay_decisions(history, until=datetime.now(UTC) + timedelta(days=1))
    assert expected["mql"] and expected["sla"] and expected["alerts"], "the history must exercise every decision"
    worker = WorkerProcess(settings, tmp_path).start()
    try:
        got = read_decisions(settings, expected)
    finally:
        code = worker.stop()
    assert not diff(expected, got), diff(expected, got) + "\n" + worker.log()[-3000:]
    assert code == 0, worker.log()[-3000:]
