"""Backtest: replay one history through two rule sets and compare their decisions and outcomes.

The history is a JSONL file or the input topics over a time range (read by timestamp with a
warm-up lookback so windows start full). No side effects: no sinks, no output topics, no
consumer group (partitions are assigned, never subscribed, and no offset is committed).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from processors import outcomes
from processors.clock import to_ms
from processors.driver import Driver, Failure
from processors.engine import Engine
from processors.rules import Rules
from schemas import models
from schemas.validation import MAX_FUTURE_MS
from streams.replay import LineReader, topic_map, tune_gc

Progress = Callable[[int], None]
TimedEvent = tuple[int, models.InputEvent]


@dataclass
class BacktestInput:
    events: list[TimedEvent] | Iterator[TimedEvent]
    total: int
    dead_letters: int = 0
    path: Path | None = None  # a file source can be replayed again, in another process
    # The accepted events again from the start (a failed decision is undone by re-deciding them).
    again: Callable[[], Iterator[TimedEvent]] | None = None


def from_file(path: Path, now_ms: int | None = None, max_future_ms: int = MAX_FUTURE_MS) -> BacktestInput:
    """A history file, judged like ``leadstream replay`` judges it (same edge, same clock rule)."""
    reference = now_ms if now_ms is not None else int(time.time() * 1000)
    reader = LineReader(topic_map(), reference_ms=reference, max_future_ms=max_future_ms)
    with path.open("rb") as fh:
        index = reader.index(fh)
    source = BacktestInput(iter(()), len(index), path=path)

    def accepted(count_dead: bool) -> Iterator[TimedEvent]:
        for at, n, line in index:
            event = reader.event(n, line, at)
            if isinstance(event, models.DeadLetter):
                source.dead_letters += count_dead
            else:
                yield at, event  # type: ignore[misc]

    source.events = accepted(True)
    source.again = lambda: accepted(False)
    return source


@dataclass
class _SourceCheckpoint:
    """A backtest's checkpoint is the start: a fresh engine and the source's events again."""

    rules: Rules
    source: BacktestInput

    def rebuild(self) -> Engine:
        return Engine(self.rules)

    def events_since(self, count: int) -> Iterator[TimedEvent]:
        events = self.source.again() if self.source.again is not None else iter(self.source.events)
        return itertools.islice(events, count)


def from_kafka(settings, start: datetime, end: datetime, warmup: timedelta) -> BacktestInput:
    """The input topics between ``start - warmup`` and ``end`` by record timestamp, in event-time order."""
    from confluent_kafka import Consumer, TopicPartition

    from schemas.catalog import INPUTS
    from schemas.validation import accept, reference_ms
    from streams.kafka_io import avro_serde, coordinates

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
                topic, partition, offset = coordinates(msg)
                key = (topic, partition)
                if offset >= stops[key] - 1:
                    pending.discard(key)
                if msg.timestamp()[1] > end_ms:
                    continue
                spec = specs[topic]
                record = accept(
                    spec,
                    topic,
                    f"{partition}:{offset}",
                    msg.value(),
                    settings.input_format(spec.name),
                    serde,
                    msg.key(),
                    reference=reference_ms(msg.timestamp()[1], int(time.time() * 1000)),
                    max_future_ms=settings.max_future_ms,
                )
                if isinstance(record, models.DeadLetter):
                    dead += 1
                    continue
                event = cast(models.InputEvent, record)  # specs are the input streams: they validate to events
                collected.append((to_ms(event.occurred_at), seq, event))
                seq += 1
    finally:
        consumer.close()
    collected.sort(key=lambda item: (item[0], item[1]))
    events = [(at, e) for at, _, e in collected]
    return BacktestInput(events, len(collected), dead, again=lambda: iter(events))


@dataclass
class Decisions:
    """One pass of one or more engines over the events: their MQLs and in-range SLA breaches."""

    mqls: dict[str, list[models.Mql]]
    breaches: dict[str, int]
    events: int
    first: int | None
    last: int | None
    dead_letters: int
    book: outcomes.OutcomeBook | None
    failures: dict[str, int] = field(default_factory=dict)  # decisions that raised, per rule set


def decide(
    source: BacktestInput,
    rule_sets: dict[str, Rules],
    start_ms: int | None,
    end_ms: int | None,
    with_book: bool,
    progress: Progress | None = None,
) -> Decisions:
    drivers = {name: Driver(Engine(rules), _SourceCheckpoint(rules, source)) for name, rules in rule_sets.items()}
    out = Decisions({k: [] for k in drivers}, dict.fromkeys(drivers, 0), 0, None, None, 0, None)
    book = outcomes.OutcomeBook() if with_book else None

    def collect(name: str, records: list[models.Record]) -> None:
        for r in records:
            if isinstance(r, models.Mql):
                out.mqls[name].append(r)
            elif isinstance(r, models.Sla) and r.status.value == "breached":
                at = to_ms(r.occurred_at)
                if (start_ms is None or at >= start_ms) and (end_ms is None or at <= end_ms):
                    out.breaches[name] += 1

    n = 0
    for at, event in source.events:
        if end_ms is not None and at > end_ms:
            break
        if out.first is None:
            out.first = at
        out.last = at
        if book is not None:
            book.observe(event)
        for name, driver in drivers.items():
            decided = driver.feed(event, at)
            if type(decided) is not Failure:  # undone and counted by the driver
                collect(name, decided)  # type: ignore[arg-type]
            driver.discard_changes()  # no state records in a backtest: the change sets stay bounded
        n += 1
        if progress is not None and n % 5000 == 0:
            progress(n)
    final = end_ms if end_ms is not None else (out.last or 0)
    for name, driver in drivers.items():
        collect(name, driver.advance(final))
    out.failures = {name: driver.failures for name, driver in drivers.items()}
    out.events, out.dead_letters, out.book = n, source.dead_letters, book
    return out


def _decide_file(
    path: Path, name: str, rules: Rules, start_ms: int | None, end_ms: int | None, with_book: bool
) -> Decisions:
    """Worker-process entry point: one rule set over a file."""

    tune_gc()
    return decide(from_file(path), {name: rules}, start_ms, end_ms, with_book)


def run(
    source: BacktestInput,
    baseline: Rules,
    candidate: Rules,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: Progress | None = None,
    parallel: bool = False,
) -> dict:
    """Both rule sets over the same events; decisions inside [start, end] count.

    In one process the events are parsed once and fed to both engines. With ``parallel`` and a
    file source, each rule set replays the file in its own process (two cores, half the wall time).
    """
    started = time.perf_counter()
    start_ms = to_ms(start) if start else None
    end_ms = to_ms(end) if end else None
    if parallel and source.path is not None:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        with ProcessPoolExecutor(max_workers=2, mp_context=get_context("fork")) as pool:
            base_f = pool.submit(_decide_file, source.path, "baseline", baseline, start_ms, end_ms, True)
            cand_f = pool.submit(_decide_file, source.path, "candidate", candidate, start_ms, end_ms, False)
            base, cand = base_f.result(), cand_f.result()
        mqls = {**base.mqls, **cand.mqls}
        base_failures, cand_failures = base.failures.get("baseline", 0), cand.failures.get("candidate", 0)
        breaches = {**base.breaches, **cand.breaches}
        done = base
    else:
        done = decide(source, {"baseline": baseline, "candidate": candidate}, start_ms, end_ms, True, progress)
        mqls, breaches = done.mqls, done.breaches
        base_failures, cand_failures = done.failures.get("baseline", 0), done.failures.get("candidate", 0)
    book = done.book
    assert book is not None
    lo = start_ms if start_ms is not None else (done.first or 0)
    hi = end_ms if end_ms is not None else (done.last or 0)
    result = {
        "range": {"from": _iso(lo), "to": _iso(hi)},
        "events": done.events,
        "dead_letters": done.dead_letters,
        "decision_failures": {"baseline": base_failures, "candidate": cand_failures},
        "rules": {"baseline": baseline.version, "candidate": candidate.version},
        "baseline": outcomes.summarise(mqls["baseline"], breaches["baseline"], book, lo, hi),
        "candidate": outcomes.summarise(mqls["candidate"], breaches["candidate"], book, lo, hi),
        "diff": outcomes.diff(mqls["baseline"], mqls["candidate"], book, lo, hi),
    }
    result["elapsed_s"] = round(time.perf_counter() - started, 2)
    return result


def _iso(ms: int) -> str:
    from processors.clock import from_ms

    return from_ms(ms).isoformat()
