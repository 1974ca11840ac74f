"""Backtest: replay one history through two rule sets and compare their decisions and outcomes.

The history is a JSONL file or the input topics over a time range (read by timestamp with a
warm-up lookback so windows start full). No side effects: no sinks, no output topics, no
consumer group (partitions are assigned, never subscribed, and no offset is committed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from processors import outcomes
from processors.clock import to_ms
from processors.engine import Engine
from processors.rules import Rules
from schemas import models
from streams.replay import LineReader, topic_map

Progress = Callable[[int], None]
TimedEvent = tuple[int, models.InputEvent]


@dataclass
class BacktestInput:
    events: list[TimedEvent] | Iterator[TimedEvent]
    total: int
    dead_letters: int = 0


def from_file(path: Path) -> BacktestInput:
    reader = LineReader(topic_map())
    with path.open("rb") as fh:
        index = reader.index(fh)

    def events() -> Iterator[TimedEvent]:
        for at, n, line in index:
            event = reader.event(n, line)
            if not isinstance(event, models.DeadLetter):
                yield at, event  # type: ignore[misc]

    return BacktestInput(events(), len(index))


def from_kafka(settings, start: datetime, end: datetime, warmup: timedelta) -> BacktestInput:
    """The input topics between ``start - warmup`` and ``end`` by record timestamp, in event-time order."""
    from confluent_kafka import Consumer, TopicPartition

    from schemas.catalog import INPUTS
    from schemas.validation import accept
    from streams.kafka_io import avro_serde

    serde = avro_serde(settings)
    consumer = Consumer(
        settings.kafka_config(
            **{
                "group.id": f"leadstream-backtest-{time.time_ns()}",  # never joined: assign() only
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
            }
        )
    )
    specs = {settings.topic(s.name): s for s in INPUTS}
    begin_ms, end_ms = to_ms(start - warmup), to_ms(end)
    try:
        wanted = []
        for topic in specs:
            meta = consumer.list_topics(topic, timeout=30).topics[topic]
            wanted += [TopicPartition(topic, p, begin_ms) for p in meta.partitions]
        starts = consumer.offsets_for_times(wanted, timeout=30)
        stops = {(tp.topic, tp.partition): consumer.get_watermark_offsets(tp, timeout=30)[1] for tp in wanted}
        live = [tp for tp in starts if tp.offset >= 0 and tp.offset < stops[(tp.topic, tp.partition)]]
        consumer.assign(live)
        pending = {(tp.topic, tp.partition) for tp in live}
        collected: list[tuple[int, int, models.InputEvent]] = []
        dead = seq = 0
        while pending:
            for msg in consumer.consume(num_messages=1000, timeout=1.0):
                if msg.error():
                    continue
                key = (msg.topic(), msg.partition())
                if msg.offset() >= stops[key] - 1:
                    pending.discard(key)
                if msg.timestamp()[1] > end_ms:
                    continue
                spec = specs[msg.topic()]
                record = accept(
                    spec,
                    msg.topic(),
                    f"{msg.partition()}:{msg.offset()}",
                    msg.value(),
                    settings.input_format(spec.name),
                    serde,
                    msg.key(),
                )
                if isinstance(record, models.DeadLetter):
                    dead += 1
                    continue
                collected.append((to_ms(record.occurred_at), seq, record))  # type: ignore[attr-defined]
                seq += 1
    finally:
        consumer.close()
    collected.sort(key=lambda item: (item[0], item[1]))
    return BacktestInput([(at, e) for at, _, e in collected], len(collected), dead)


def run(
    source: BacktestInput,
    baseline: Rules,
    candidate: Rules,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: Progress | None = None,
) -> dict:
    """Both rule sets over the same events (parsed once); decisions inside [start, end] count."""
    started = time.perf_counter()
    engines = {"baseline": Engine(baseline), "candidate": Engine(candidate)}
    mqls: dict[str, list[models.Mql]] = {k: [] for k in engines}
    breaches: dict[str, int] = dict.fromkeys(engines, 0)
    book = outcomes.OutcomeBook()
    start_ms = to_ms(start) if start else None
    end_ms = to_ms(end) if end else None
    first = last = None
    n = 0

    def in_range(at: int) -> bool:
        return (start_ms is None or at >= start_ms) and (end_ms is None or at <= end_ms)

    def collect(name: str, records: list[models.Record]) -> None:
        for r in records:
            if isinstance(r, models.Mql):
                mqls[name].append(r)
            elif isinstance(r, models.Sla) and r.status.value == "breached" and in_range(to_ms(r.occurred_at)):
                breaches[name] += 1

    for at, event in source.events:
        if end_ms is not None and at > end_ms:
            break
        first = at if first is None else first
        last = at
        book.observe(event)
        for name, engine in engines.items():
            collect(name, engine.process(event, at))
        n += 1
        if progress is not None and n % 5000 == 0:
            progress(n)
    window_start = start_ms if start_ms is not None else (first or 0)
    window_end = end_ms if end_ms is not None else (last or 0)
    for name, engine in engines.items():
        collect(name, engine.advance(window_end))
    result = {
        "range": {"from": _iso(window_start), "to": _iso(window_end)},
        "events": n,
        "dead_letters": source.dead_letters,
        "rules": {"baseline": baseline.version, "candidate": candidate.version},
        "baseline": outcomes.summarise(mqls["baseline"], breaches["baseline"], book, window_start, window_end),
        "candidate": outcomes.summarise(mqls["candidate"], breaches["candidate"], book, window_start, window_end),
        "diff": outcomes.diff(mqls["baseline"], mqls["candidate"], book, window_start, window_end),
    }
    result["elapsed_s"] = round(time.perf_counter() - started, 2)
    return result


def _iso(ms: int) -> str:
    from processors.clock import from_ms

    return from_ms(ms).isoformat()
