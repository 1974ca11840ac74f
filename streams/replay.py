"""File replay: run the processors over a JSONL history with no Kafka, in event-time order.

Input lines are ``{"topic": "<topic>", "value": {...}}``; every output record is written as the
same envelope. A bad line becomes a ``lead.deadletter`` record with its line number and the run
goes on; only a failure of the run itself (unreadable file, bad rules) is an error.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

from processors.clock import to_ms
from processors.engine import Engine
from processors.rules import Rules
from schemas import models
from schemas.catalog import BY_MODEL, INPUTS, StreamSpec
from schemas.validation import dead_letter, validate


@dataclass
class ReplaySummary:
    input_lines: int = 0
    accepted: int = 0
    outputs: Counter[str] = field(default_factory=Counter)
    dead_letters: int = 0
    elapsed_s: float = 0.0

    @property
    def events_per_s(self) -> float:
        return self.input_lines / self.elapsed_s if self.elapsed_s else 0.0

    def render(self) -> str:
        lines = [
            f"replay: {self.input_lines} lines, {self.accepted} events accepted,"
            f" {self.dead_letters} dead-lettered",
        ]
        lines += [f"  {topic:<18} {n}" for topic, n in sorted(self.outputs.items())]
        lines.append(f"  elapsed {self.elapsed_s:.2f} s, {self.events_per_s:,.0f} events/s")
        return "\n".join(lines)


def topic_map(topics: dict[str, str] | None = None) -> dict[str, StreamSpec]:
    """Input topic name → stream spec, honouring configured topic names."""
    topics = topics or {}
    return {topics.get(s.name, s.default_topic): s for s in INPUTS}


def read_events(
    lines: Iterator[bytes] | IO[bytes], inputs: dict[str, StreamSpec], dead_topic: str = "file"
) -> tuple[list[tuple[int, int, models.InputEvent]], list[models.DeadLetter], int]:
    """Parse and validate every line; returns (events as (at_ms, line, event), dead letters, count)."""
    events: list[tuple[int, int, models.InputEvent]] = []
    dead: list[models.DeadLetter] = []
    n = 0
    for n, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            envelope = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            dead.append(dead_letter(dead_topic, f"line {n}", f"invalid JSON: {exc}", line))
            continue
        topic = envelope.get("topic") if isinstance(envelope, dict) else None
        spec = inputs.get(topic) if isinstance(topic, str) else None
        if spec is None:
            known = ", ".join(sorted(inputs))
            error = f"unknown or missing topic {topic!r} (expected one of {known})"
            dead.append(dead_letter(str(topic or dead_topic), f"line {n}", error, line))
            continue
        value = envelope.get("value")
        if not isinstance(value, dict):
            error = f"value must be a JSON object, got {type(value).__name__}"
            dead.append(dead_letter(topic, f"line {n}", error, line))
            continue
        try:
            event = validate(spec, value)
        except ValueError as exc:
            dead.append(dead_letter(topic, f"line {n}", str(exc), line))
            continue
        events.append((to_ms(event.occurred_at), n, event))  # type: ignore[attr-defined]
    return events, dead, n


def topic_of(record: models.Record, topics: dict[str, str] | None = None) -> str:
    spec = BY_MODEL[type(record)]
    return (topics or {}).get(spec.name, spec.default_topic)


def envelope(topic: str, record: models.Record) -> bytes:
    value: dict[str, Any] = record.model_dump(mode="json")
    return orjson.dumps({"topic": topic, "value": value}) + b"\n"


def replay(
    source: Path,
    out: IO[bytes],
    rules: Rules,
    until: datetime | None = None,
    topics: dict[str, str] | None = None,
    engine: Engine | None = None,
) -> ReplaySummary:
    """Replay ``source`` through a fresh engine (or the one given), writing outputs to ``out``."""
    started = time.perf_counter()
    summary = ReplaySummary()
    engine = engine or Engine(rules)
    with source.open("rb") as fh:
        events, dead, summary.input_lines = read_events(fh, topic_map(topics))
    if any(events[i][0] > events[i + 1][0] for i in range(len(events) - 1)):
        events.sort(key=lambda item: (item[0], item[1]))

    def emit(records: list[models.Record]) -> None:
        for record in records:
            topic = topic_of(record, topics)
            out.write(envelope(topic, record))
            summary.outputs[topic] += 1

    emit(dead)  # type: ignore[arg-type]
    summary.dead_letters = len(dead)
    for _, _, event in events:
        emit(engine.process(event))
    summary.accepted = len(events)
    if until is not None:
        emit(engine.advance(to_ms(until)))
    summary.elapsed_s = time.perf_counter() - started
    return summary
