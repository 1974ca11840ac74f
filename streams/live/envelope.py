"""Internal batch records between the live stages: compact JSON, never part of the contract.

A batch carries many events in one Kafka record, so Faust's per-record cost is paid once per
batch on the internal hops instead of once per event. The events in them were accepted at the
edge (``schemas.validation.accept``) and travel as their fields; the engine stage rebuilds them
with ``schemas.validation.trusted``, never validating twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

# An accepted event between stages: (event time ms, source "topic:partition", offset, logical
# stream name, the accepted record's fields).
Event = tuple[int, str, int, str, dict[str, Any]]
# An event routed to an engine partition, with its role there (see ``Role``).
Routed = tuple[int, str, int, str, dict[str, Any], str]
# source "topic:partition" -> (newest event time handed on or None, wall time ms at which the
# partition was confirmed fully read, or None while it has records left)
Progress = dict[str, tuple[int | None, int | None]]


class Role:
    """What an engine partition does with a routed event."""

    DECIDE = ""  # an event of this partition's engine key
    OWN = "o"  # an account profile sent to every partition: this one owns the account's state
    REPLICA = "r"  # the same, for a partition that keeps only a copy of the profile
    IF_KNOWN = "k"  # + a CRM contact id: a tracked visit, decided only where that contact lives


MAX_RECORD_BYTES = 500_000  # the broker refuses records over 1 MB; a backfill can batch thousands of events


def _split(
    events: list[Any], encode: Callable[[list[Any], bool], bytes], max_bytes: int, last: bool = True
) -> list[bytes]:
    """``events`` as records of at most ``max_bytes``, in order, halving until each fits;
    ``encode(events, last)`` makes one record (``last``: the final one of the batch)."""
    whole = encode(events, last)
    if len(whole) <= max_bytes or len(events) <= 1:
        return [whole]
    half = len(events) // 2
    return _split(events[:half], encode, max_bytes, False) + _split(events[half:], encode, max_bytes, last)


def merge_progress(into: Progress, report: Progress) -> None:
    """Fold a later report into ``into``: the newest time only grows, the idle mark is the latest."""
    for source, (newest, empty_at) in report.items():
        before = into.get(source)
        if before is not None and before[0] is not None and (newest is None or newest < before[0]):
            newest = before[0]
        into[source] = (newest, empty_at)


@dataclass
class IngestBatch:
    """Accepted events of some input partitions, plus how far each of those partitions has got."""

    events: list[Event] = field(default_factory=list)
    progress: Progress = field(default_factory=dict)
    read_ms: int = 0  # wall time the events had been read by (see ``streams.live.merge``)

    def dumps(self) -> bytes:
        return orjson.dumps({"e": self.events, "p": self.progress, "r": self.read_ms})

    def records(self, max_bytes: int = MAX_RECORD_BYTES) -> list[bytes]:
        """Kafka records under ``max_bytes``; the progress goes with the last (it is "after these")."""
        return _split(
            self.events,
            lambda events, last: IngestBatch(events, self.progress if last else {}, self.read_ms).dumps(),
            max_bytes,
        )

    @classmethod
    def loads(cls, raw: bytes) -> IngestBatch:
        data = orjson.loads(raw)
        return cls(events=data["e"], progress=_progress(data["p"]), read_ms=data.get("r", 0))


@dataclass
class RoutedBatch:
    """Work for one engine partition: events in each source's order, and every source's progress,
    which the partition's event-time merge needs to know when an event may be decided."""

    events: list[Routed] = field(default_factory=list)
    progress: Progress = field(default_factory=dict)
    read_ms: int = 0

    def dumps(self) -> bytes:
        return orjson.dumps({"e": self.events, "p": self.progress, "r": self.read_ms})

    def records(self, max_bytes: int = MAX_RECORD_BYTES) -> list[bytes]:
        """Kafka records under ``max_bytes``; the progress goes with the last."""
        return _split(
            self.events,
            lambda events, last: RoutedBatch(events, self.progress if last else {}, self.read_ms).dumps(),
            max_bytes,
        )

    @classmethod
    def loads(cls, raw: bytes) -> RoutedBatch:
        data = orjson.loads(raw)
        return cls(events=data["e"], progress=_progress(data["p"]), read_ms=data.get("r", 0))


def _progress(raw: dict[str, Any]) -> Progress:
    return {k: (v[0], _wall_ms(v[1])) for k, v in raw.items()}


def _wall_ms(value: Any) -> int | None:
    """A wall time; records of older workers carried a bare "caught up" flag, which proves nothing."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
