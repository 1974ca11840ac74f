"""File replay: run the processors over a JSONL history with no Kafka, in event-time order.

Input lines are ``{"topic": "<topic>", "value": {...}}``; every output record is written as the
same envelope. A bad line becomes a ``lead.deadletter`` record with its line number and the run
goes on; only a failure of the run itself (unreadable file, bad rules) is an error.

Two passes keep memory small and the hot loop tight: the first indexes each line by event time
(raw bytes only, which the garbage collector never has to walk), the second validates events a
small batch ahead of the engine.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic import ValidationError

import processors
from processors.clock import to_ms
from processors.driver import Driver, Failure
from processors.engine import Engine
from processors.rules import Rules
from schemas import models
from schemas.catalog import BY_MODEL, INPUTS, StreamSpec
from schemas.policy import parse_time_ms
from schemas.validation import MAX_FUTURE_MS, dead_letter, too_far_ahead, validate

# Lines whose time cannot be read in the first pass sort first; validation then dead-letters them.
UNREADABLE_TIME = -(2**62)


# Net new container objects between young collections (Python's default is 700; a replay's state
# grows by about 2.5 per event, so a 200k-event replay never stops to collect).
GC_YOUNG_THRESHOLD = 2_000_000


def tune_gc() -> None:
    """A replay builds long-lived state and many short-lived events. What was loaded before the run
    (rules, modules) is frozen out of the collector. Events and outputs form no reference cycles
    (reference counting frees them), so a young collection would only scan state that stays alive:
    it runs rarely, a safety net for cycles rather than about 3% of a replay spent re-scanning."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 50)


@dataclass
class ReplaySummary:
    input_lines: int = 0
    accepted: int = 0
    outputs: Counter[str] = field(default_factory=Counter)
    dead_letters: int = 0
    failed: int = 0  # events whose decision raised (dead-lettered, state left as before them)
    too_old: int = 0  # accepted but older than the dedupe horizon behind the newest event time
    repeats: int = 0  # accepted but an event_id already decided
    elapsed_s: float = 0.0
    build: str = field(default_factory=lambda: str(processors.BUILD))  # native (mypyc) or pure Python

    @property
    def events_per_s(self) -> float:
        return self.input_lines / self.elapsed_s if self.elapsed_s else 0.0

    def render(self) -> str:
        lines = [
            f"replay: {self.input_lines} lines, {self.accepted} events accepted, {self.dead_letters} dead-lettered",
        ]
        if self.too_old or self.repeats or self.failed:
            lines.append(
                f"  without effect: {self.too_old} older than the dedupe horizon, {self.repeats} repeated"
                f" event ids; {self.failed} decisions failed (dead-lettered)"
            )
        lines += [f"  {topic:<18} {n}" for topic, n in sorted(self.outputs.items())]
        lines.append(f"  elapsed {self.elapsed_s:.2f} s, {self.events_per_s:,.0f} events/s")
        lines.append(f"  build: {self.build}")
        return "\n".join(lines)


def topic_map(topics: dict[str, str] | None = None) -> dict[str, StreamSpec]:
    """Input topic name → stream spec, honouring configured topic names."""
    topics = topics or {}
    return {topics.get(s.name, s.default_topic): s for s in INPUTS}


_TIME_KEY = b'"occurred_at"'
# The key, then only spaces and colons, then a quoted value without escapes.
_TIME_VALUE = re.compile(rb'"occurred_at"[ :]*"([^"]*)"')


def _scan_time(line: bytes) -> int | None:
    """occurred_at read straight from the bytes (no JSON parse), by the edge's own time rule;
    None when it is not simple."""
    i = line.find(_TIME_KEY)
    if i < 0 or line.find(_TIME_KEY, i + 1) >= 0:
        return None
    match = _TIME_VALUE.match(line, i)
    if match is None:
        return None
    try:
        return parse_time_ms(match.group(1).decode())
    except UnicodeDecodeError:
        return None


def _event_time(value: dict[str, Any]) -> int:
    raw = value.get("occurred_at")
    at = parse_time_ms(raw) if isinstance(raw, str) else None
    return UNREADABLE_TIME if at is None else at


class LineReader:
    """Reads a JSONL history: lines come out in event-time order, each as an event or a dead letter."""

    def __init__(
        self,
        inputs: dict[str, StreamSpec],
        source_name: str = "file",
        reference_ms: int | None = None,
        max_future_ms: int = MAX_FUTURE_MS,
    ) -> None:
        """``reference_ms``: the clock events are judged against (see ``schemas.validation``);
        a file run uses the wall clock when it starts unless the user pins it (``--now``)."""
        self.inputs = inputs
        self.source_name = source_name
        self.reference_ms = reference_ms
        self.max_future_ms = max_future_ms
        self._latest_ms = reference_ms + max_future_ms if reference_ms is not None else None
        self.lines = 0
        # topic -> the model's validator, looked up once instead of per line (the hot path).
        self._validators = {topic: spec.model.__pydantic_validator__.validate_python for topic, spec in inputs.items()}

    def _envelope(self, n: int, line: bytes) -> tuple[StreamSpec, dict[str, Any]] | models.DeadLetter:
        try:
            envelope = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            return dead_letter(self.source_name, f"line {n}", f"invalid JSON: {exc}", line)
        if not isinstance(envelope, dict):
            error = f'line must be a JSON object {{"topic": …, "value": …}}, got {_json_kind(envelope)}'
            return dead_letter(self.source_name, f"line {n}", error, line)
        topic = envelope.get("topic")
        spec = self.inputs.get(topic) if isinstance(topic, str) else None
        if spec is None:
            known = ", ".join(sorted(self.inputs))
            error = f"unknown or missing topic {topic!r} (expected one of {known})"
            return dead_letter(str(topic or self.source_name), f"line {n}", error, line)
        value = envelope.get("value")
        if not isinstance(value, dict):
            error = f"JSON value must be an object, got {_json_kind(value)}"
            return dead_letter(str(topic), f"line {n}", error, line)
        return spec, value

    def index(self, lines: Iterable[bytes]) -> list[tuple[int, int, bytes]]:
        """Pass 1: (event time, line number, raw line), sorted by time then file order.

        The time is scanned from the bytes; lines it cannot read simply are fully parsed (and a
        broken envelope is dead-lettered in pass 2, where every line is parsed anyway).
        """
        index: list[tuple[int, int, bytes]] = []
        append = index.append
        scan = _scan_time
        n = 0
        last = UNREADABLE_TIME
        in_order = True
        for n, raw in enumerate(lines, start=1):
            line = raw.strip()
            if not line:
                continue
            at = scan(line)
            if at is None:
                try:
                    envelope = orjson.loads(line)
                    value = envelope.get("value") if isinstance(envelope, dict) else None
                    at = _event_time(value) if isinstance(value, dict) else UNREADABLE_TIME
                except orjson.JSONDecodeError:
                    at = UNREADABLE_TIME
            if at < last:
                in_order = False
            last = at
            append((at, n, line))
        self.lines = n
        if not in_order:
            index.sort()  # by time, then line number: numbers are unique, so lines are never compared
        return index

    def event(self, n: int, line: bytes, at_ms: int | None = None) -> models.InputEvent | models.DeadLetter:
        """Pass 2: the validated event of an indexed line, or its dead letter.

        ``at_ms`` is the line's indexed time (the same rule as validation's, so equal to the
        event's ``occurred_at`` whenever it validates); it is computed when not given.
        """
        event = self._validated(n, line)
        latest = self._latest_ms
        if latest is not None and type(event) is not models.DeadLetter:
            at = to_ms(event.occurred_at) if at_ms is None else at_ms  # type: ignore[union-attr]
            if at > latest:
                ahead = too_far_ahead(at, self.reference_ms, self.max_future_ms)
                spec = BY_MODEL[type(event)]
                return dead_letter(self.topic_of_line(line), f"line {n}", f"{spec.avro_name}: {ahead}", line)
        return event

    @staticmethod
    def topic_of_line(line: bytes) -> str:
        """The topic of a line that has validated (so its envelope parses)."""
        return str(orjson.loads(line)["topic"])

    def _validated(self, n: int, line: bytes) -> models.InputEvent | models.DeadLetter:
        """The well-formed line is the hot path: one JSON parse, one validator call. Anything else
        takes ``_envelope`` + ``validate``, which word the dead letter."""
        try:
            envelope = orjson.loads(line)
        except orjson.JSONDecodeError:
            envelope = None
        if type(envelope) is dict:
            topic = envelope.get("topic")
            validate_value = self._validators.get(topic) if type(topic) is str else None
            value = envelope.get("value")
            if validate_value is not None and type(value) is dict:
                try:
                    return validate_value(value)  # type: ignore[no-any-return]
                except ValidationError:
                    pass
        return self._slow_event(n, line)

    def _slow_event(self, n: int, line: bytes) -> models.InputEvent | models.DeadLetter:
        parsed = self._envelope(n, line)
        if isinstance(parsed, models.DeadLetter):
            return parsed
        spec, value = parsed
        try:
            return validate(spec, value)  # type: ignore[return-value]
        except ValueError as exc:
            topic = orjson.loads(line)["topic"]
            return dead_letter(topic, f"line {n}", str(exc), line)


def _json_kind(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def topic_of(record: models.Record, topics: dict[str, str] | None = None) -> str:
    spec = BY_MODEL[type(record)]
    return (topics or {}).get(spec.name, spec.default_topic)


def envelope(topic: str, record: models.Record) -> bytes:
    """``{"topic": …, "value": …}`` + newline, compact. The record is written by its own pydantic
    JSON serializer (the bytes ``orjson.dumps(record.model_dump(mode="json"))`` gives, without the
    intermediate dict)."""
    value = record.__pydantic_serializer__.to_json(record)
    return b'{"topic":' + orjson.dumps(topic) + b',"value":' + value + b"}\n"


# Lines validated per batch: validating a few hundred events in a row, then deciding them in a row,
# keeps each phase's code and data warm in the CPU caches (a few % on a replay), at no memory cost.
VALIDATE_BATCH = 256
# Output records written per batch, for the same reason.
EMIT_BATCH = 256


def _validated(
    index: list[tuple[int, int, bytes]],
    event_of: Callable[[int, bytes, int], models.InputEvent | models.DeadLetter],
) -> Iterator[tuple[int, models.InputEvent | models.DeadLetter]]:
    """(event time, event or dead letter) in index order; validation is pure, so doing it a batch
    ahead of the engine changes nothing but speed."""
    for start in range(0, len(index), VALIDATE_BATCH):
        batch = index[start : start + VALIDATE_BATCH]
        events = [event_of(n, line, at) for at, n, line in batch]
        yield from zip([at for at, _, _ in batch], events, strict=True)


@dataclass
class FileCheckpoint:
    """Replay's checkpoint is the start of the run: a fresh engine, and the accepted events of
    the index in order (re-validated: the index holds raw lines only)."""

    rules: Rules
    index: list[tuple[int, int, bytes]]
    reader: LineReader

    def rebuild(self) -> Engine:
        return Engine(self.rules)

    def events_since(self, count: int) -> Iterator[tuple[int, models.InputEvent]]:
        if count <= 0:
            return
        for at, event in _validated(self.index, self.reader.event):
            if type(event) is not models.DeadLetter:
                yield at, event  # type: ignore[misc]
                count -= 1
                if count == 0:
                    return


def replay(
    source: Path,
    out: IO[bytes],
    rules: Rules,
    until: datetime | None = None,
    topics: dict[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
    max_future_ms: int = MAX_FUTURE_MS,
) -> ReplaySummary:
    """Replay ``source`` through a fresh engine, writing outputs to ``out``.

    ``now`` is the clock events are judged against (default: the wall clock when the run starts):
    an event more than ``max_future_ms`` ahead of it is dead-lettered and moves no clock.
    """
    started = time.perf_counter()
    summary = ReplaySummary()
    reference = to_ms(now) if now is not None else int(time.time() * 1000)
    reader = LineReader(topic_map(topics), reference_ms=reference, max_future_ms=max_future_ms)
    with source.open("rb") as fh:
        index = reader.index(fh)
    summary.input_lines = reader.lines
    driver = Driver(Engine(rules), FileCheckpoint(rules, index, reader))

    topic_by_type: dict[type[models.Record], str] = {}
    counts = summary.outputs
    pending: list[models.Record] = []

    def flush() -> None:
        """Write the pending outputs with one write: serializing them in a row keeps the serializer
        warm. Records are immutable, so writing them a little later writes the same bytes."""
        chunks = []
        for record in pending:
            kind = type(record)
            topic = topic_by_type.get(kind)
            if topic is None:
                topic = topic_by_type[kind] = topic_of(record, topics)
            chunks.append(envelope(topic, record))
            counts[topic] += 1
        out.write(b"".join(chunks))
        pending.clear()

    dead = accepted = 0
    feed = driver.feed
    dead_letter_type = models.DeadLetter
    total = len(index)
    for i, (at_ms, event) in enumerate(_validated(index, reader.event)):
        if type(event) is dead_letter_type:
            pending.append(event)
            dead += 1
            continue
        records = feed(event, at_ms)  # type: ignore[arg-type]
        if type(records) is Failure:
            _, n, line = index[i]
            pending.append(dead_letter(reader.topic_of_line(line), f"line {n}", records.reason, line))
            dead += 1
            continue
        accepted += 1
        driver.discard_changes()  # a replay publishes no state records: the engine's change sets stay bounded
        if records:
            pending.extend(records)  # type: ignore[arg-type]
            if len(pending) >= EMIT_BATCH:
                flush()
        if progress is not None and i % 10_000 == 0:
            progress(i, total)
    summary.accepted = accepted
    if until is not None:
        pending.extend(driver.advance(to_ms(until)))
    flush()
    summary.dead_letters = dead
    summary.failed = driver.failures
    summary.too_old, summary.repeats = driver.engine.too_old, driver.engine.repeats
    summary.elapsed_s = time.perf_counter() - started
    return summary
