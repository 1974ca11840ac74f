"""`leadstream bench live` at a tiny size against the session stack: it runs the real worker end to
end and reports figures. Behaviour only (the worker drained, there are figures), never timing."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from infra import stack
from streams.settings import Settings
from tools.bench_live import LiveBenchConfig, bench_live, deciding_event

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def test_tiny_bench_drains_and_reports_figures(stack_endpoints: stack.Endpoints, tmp_path: Path) -> None:
    base = Settings(bootstrap_servers=stack_endpoints.bootstrap_servers, registry_url=stack_endpoints.registry_url)
    cfg = LiveBenchConfig(rate=200, seconds=1.5, full_events=500, warmup_events=50, workdir=tmp_path, timeout_s=90)

    result = bench_live(base, cfg)

    assert result.drained, result.log_path.read_text(errors="replace")[-3000:]
    assert {name: p.produced.events for name, p in result.phases.items()} == {"warm-up": 50, "fixed": 300, "full": 500}
    assert all(p.drain.input_lag == 0 for p in result.phases.values())
    assert result.sustained_eps > 0
    assert result.baseline_events == 850 and result.baseline_eps > 0
    assert result.latency.samples, "no MQL decided by a fixed-rate event"
    assert all(ms >= 0 for ms in result.latency.samples)
    report = result.render()
    assert "sustained:" in report and "p99" in report and "ratio to baseline" in report
    # the run cleaned up after itself: no topic of its own is left on the shared cluster
    topics = AdminClient({"bootstrap.servers": stack_endpoints.bootstrap_servers}).list_topics(timeout=10).topics
    assert not [t for t in topics if result.rid in t]


def test_deciding_event_prefers_the_newest_event_at_the_decision_time() -> None:
    at, earlier = 2_000, 1_000
    mql = {
        "occurred_at": at,
        "reasons": [
            {"event_id": "crm-1", "at": at},  # a fit reason: decision time, an older profile event
            {"event_id": "w-5", "at": earlier},
            {"event_id": "f-9", "at": at},  # the form fill that decided
        ],
    }
    assert deciding_event(mql, {"crm-1": 10, "w-5": earlier, "f-9": at}) == "f-9"
    assert deciding_event({"occurred_at": 3_000, "reasons": mql["reasons"]}, {}) == "crm-1"  # newest reason
