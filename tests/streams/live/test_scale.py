"""Two workers share the partitions after a rebalance and still decide exactly what replay does."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra import stack
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
CFG = WorkloadConfig(seed=17, events=8_000, accounts=60, contacts=700, days=20, start=datetime(2026, 9, 1, tzinfo=UTC))


def test_a_second_worker_takes_over_partitions_and_decisions_stay_the_same(
    stack_endpoints: stack.Endpoints, tmp_path: Path
) -> None:
    history = tmp_path / "history.jsonl"
    write_jsonl(CFG, history)
    lines = sum(1 for _ in history.open("rb"))
    settings = live_settings(stack_endpoints, partitions=4)
    expected = replay_decisions(history, until=None)
    first = WorkerProcess(settings, tmp_path, name="first", lateness_ms=LATENESS_BEYOND_HISTORY_MS)
    second = WorkerProcess(settings, tmp_path, name="second", lateness_ms=LATENESS_BEYOND_HISTORY_MS)
    produce_history(settings, history, 0, lines // 2)
    first.start()
    try:
        first.wait_for(lambda s: s.get("decided", 0) > 0)
        second.start()  # joins the group: a rebalance moves partitions (and their state) to it
        second.wait_for(lambda s: bool(s.get("partitions")))
        produce_history(settings, history, lines // 2, None)
        got = read_decisions(settings, expected)
        shares = [first.stats().get("partitions", []), second.stats().get("partitions", [])]
    finally:
        codes = [second.stop(), first.stop()]
    log = first.log()[-2000:] + second.log()[-2000:]
    assert not diff(expected, got), diff(expected, got) + "\n" + log
    assert all(shares) and not set(shares[0]) & set(shares[1]), f"engine partitions per worker: {shares}"
    assert sorted(shares[0] + shares[1]) == [0, 1, 2, 3]
    assert codes == [0, 0], log
