"""Three workers over twelve partitions: every stage's work is split between them (input
partitions, identity tasks, engine partitions), and together they decide exactly what replay does."""

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
CFG = WorkloadConfig(seed=23, events=8_000, accounts=60, contacts=700, days=20, start=datetime(2026, 9, 1, tzinfo=UTC))
PARTITIONS = 12


def test_three_workers_share_every_stage_and_decide_what_replay_decides(
    stack_endpoints: stack.Endpoints, tmp_path: Path
) -> None:
    history = tmp_path / "history.jsonl"
    write_jsonl(CFG, history)
    lines = sum(1 for _ in history.open("rb"))
    settings = live_settings(stack_endpoints, partitions=PARTITIONS)
    expected = replay_decisions(history, until=None)
    workers = [
        WorkerProcess(settings, tmp_path, name=f"w{i}", lateness_ms=LATENESS_BEYOND_HISTORY_MS) for i in range(3)
    ]
    produce_history(settings, history, 0, lines // 3)
    try:
        for worker in workers:
            worker.start()
        for worker in workers:  # all three in the group, each with a share of the engine partitions
            worker.wait_for(lambda s: bool(s.get("partitions")), timeout=240)
        produce_history(settings, history, lines // 3, None)
        got = read_decisions(settings, expected, timeout=360)
        shares = [w.stats() for w in workers]
    finally:
        codes = [w.stop() for w in workers]
    log = "\n".join(w.log()[-1500:] for w in workers)
    assert not diff(expected, got), diff(expected, got) + "\n" + log
    for stage, count in (("inputs", 3 * PARTITIONS), ("identity", PARTITIONS), ("partitions", PARTITIONS)):
        owned = [set(s.get(stage, [])) for s in shares]
        assert all(owned), f"every worker has a share of {stage}: {owned}"
        assert sum(len(o) for o in owned) == count and len(set().union(*owned)) == count, f"{stage}: {owned}"
    assert all(s.get("decided", 0) > 0 and s.get("routed", 0) > 0 for s in shares), shares
    assert codes == [0, 0, 0], log
