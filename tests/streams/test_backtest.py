"""Backtests: diffs that match the rule change, outcomes joined from the same history, Kafka mode."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from processors.rules import Rules, default_rules_text, load_rules, parse_rules
from streams import backtest as bt
from streams.backtest_report import render_html
from streams.settings import Settings
from tests.processors.builders import FIT, at, contact, crm, form, stage, visit
from tools.workload import WorkloadConfig, generate, write_jsonl

CFG = WorkloadConfig(seed=5, events=15_000, accounts=150, contacts=1_500, days=40)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bt") / "history.jsonl"
    write_jsonl(CFG, path)
    return path


def _with_intent(threshold: int) -> Rules:
    text = default_rules_text().replace("  intent: 30\n", f"  intent: {threshold}\n", 1)
    return parse_rules(text.replace('version: "2026.11-default"', f'version: "intent-{threshold}"'))


def test_identical_rules_give_an_empty_diff(history: Path) -> None:
    result = bt.run(bt.from_file(history), load_rules(), load_rules())
    assert result["baseline"]["mql_count"] > 0
    assert result["diff"]["added"] == [] and result["diff"]["removed"] == []
    assert result["baseline"] == result["candidate"]


def test_raised_threshold_only_removes(history: Path) -> None:
    result = bt.run(bt.from_file(history), load_rules(), _with_intent(45))
    assert result["diff"]["added"] == []
    assert result["diff"]["removed"], "a stricter threshold drops some MQLs"
    assert result["candidate"]["mql_count"] < result["baseline"]["mql_count"]
    removed = result["diff"]["removed_details"][0]
    assert removed["thresholds"]["intent"] == 30 and removed["evidence"]


def test_lowered_threshold_only_adds(history: Path) -> None:
    result = bt.run(bt.from_file(history), load_rules(), _with_intent(20))
    assert result["diff"]["removed"] == []
    assert result["diff"]["added"]
    assert result["diff"]["median_time_to_mql_change_hours"] <= 0, "a lower bar qualifies no later"
    html = render_html(result)
    assert "<svg" in html and "Added by the candidate" in html and "<script" not in html


def test_outcomes_are_joined_to_the_mql_that_preceded_them(tmp_path: Path) -> None:
    events = [
        contact(at(-1), "c-7", "dana@acme.io"),
        visit(at(0), "v7", "/pricing"),
        form(at(1), "v7", "dana@acme.io", "demo_request", **FIT),  # MQL at t=1 min
        stage(at(0, days=1), "c-7", "sal"),
        stage(at(0, days=3), "c-7", "sql"),
        crm(
            at(0, days=4),
            "opportunity_upserted",
            contact_id="c-7",
            fields={"opportunity_id": "o-1", "amount": 50_000, "currency": "USD", "stage": "open"},
        ),
        stage(at(0, days=20), "c-7", "won"),
        # SQL that was never an MQL: counts against recall
        contact(at(-1), "c-8", "lee@gmail.com"),
        stage(at(0, days=2), "c-8", "sql"),
    ]
    path = tmp_path / "h.jsonl"
    with path.open("wb") as fh:
        for e in events:
            topic = {"WebVisit": "web.visits", "FormFill": "form.fills"}.get(type(e).__name__, "crm.changes")
            fh.write(orjson.dumps({"topic": topic, "value": e.model_dump(mode="json")}) + b"\n")
    metrics = bt.run(bt.from_file(path), load_rules(), load_rules())["baseline"]
    assert metrics["mql_contact_count"] == 1
    assert metrics["funnel"] == {"mql": 1, "sal": 1, "sql": 1, "opportunity": 1, "won": 1}
    assert metrics["conversion"] == {"mql_to_sal": 1.0, "mql_to_sql": 1.0, "mql_to_won": 1.0}
    assert metrics["pipeline"] == 50_000 and metrics["revenue"] == 50_000
    assert metrics["precision_sql"] == 1.0 and metrics["recall_sql"] == 0.5


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_kafka_time_range_matches_the_file_and_leaves_no_trace(kafka_settings: Settings, tmp_path: Path) -> None:
    cfg = WorkloadConfig(
        seed=9, events=6_000, accounts=60, contacts=600, days=20, start=datetime(2026, 2, 2, tzinfo=UTC)
    )
    path = tmp_path / "h.jsonl"
    write_jsonl(cfg, path)
    producer = Producer(kafka_settings.kafka_config())
    for stream, value in generate(cfg):
        ts = int(datetime.fromisoformat(value["occurred_at"]).timestamp() * 1000)
        producer.produce(kafka_settings.topic(stream), orjson.dumps(value), timestamp=ts)
    assert producer.flush(60) == 0
    start, end = cfg.start + timedelta(days=8), cfg.start + timedelta(days=16)
    rules, candidate = load_rules(), _with_intent(45)
    from_kafka = bt.run(bt.from_kafka(kafka_settings, start, end, timedelta(days=30)), rules, candidate, start, end)
    from_file = bt.run(bt.from_file(path), rules, candidate, start, end)
    for result in (from_kafka, from_file):
        result.pop("elapsed_s")
    assert from_kafka["events"] > 0 and from_kafka["baseline"]["mql_count"] > 0
    assert from_kafka["diff"] == from_file["diff"]
    assert from_kafka["baseline"] == from_file["baseline"]
    admin = AdminClient(kafka_settings.kafka_config())
    groups = admin.list_consumer_groups().result(30).valid
    assert not [g for g in groups if g.group_id.startswith("leadstream-backtest")], "no consumer group"
    time.sleep(0.5)
    meta = admin.list_topics(timeout=30).topics
    for stream in ("mql", "sla", "lifecycle", "alerts"):
        tp = meta[kafka_settings.topic(stream)].partitions
        assert tp, stream
    from confluent_kafka import Consumer, TopicPartition

    probe = Consumer(kafka_settings.kafka_config(**{"group.id": "probe", "enable.auto.commit": False}))
    try:
        for stream in ("mql", "sla"):
            topic = kafka_settings.topic(stream)
            for p in meta[topic].partitions:
                low, high = probe.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
                assert high == low == 0, f"backtest wrote to {topic}"
    finally:
        probe.close()


def test_parallel_file_mode_gives_the_same_result(history: Path) -> None:
    one = bt.run(bt.from_file(history), load_rules(), _with_intent(45))
    two = bt.run(bt.from_file(history), load_rules(), _with_intent(45), parallel=True)
    one.pop("elapsed_s"), two.pop("elapsed_s")
    assert one == two
