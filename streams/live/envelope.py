"""Internal batch records between the live stages: compact JSON, never part of the contract.

A batch carries many events in one Kafka record, so Faust's per-record cost is paid once per
batch on the internal hops instead of once per event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

# An event travelling between stages: (event time ms, source "topic:partition", offset,
# logical stream name, validated payload as JSON-ready dict).
Item = tuple[int, str, int, str, dict[str, Any]]


MAX_RECORD_BYTES = 500_000  # the broker refuses records over 1 MB; a backfill can batch thousands of events


def _split(
    events: list[Item], encode: Callable[[list[Item], bool], bytes], max_bytes: int, last: bool = True
) -> list[bytes]:
    """``events`` as records of at most ``max_bytes``, in order, halving until each fits;
    ``encode(events, last)`` makes one record (``last``: the final one of the batch)."""
    whole = encode(events, last)
    if len(whole) <= max_bytes or len(events) <= 1:
        return [whole]
    half = len(events) // 2
    return _split(events[:half], encode, max_bytes, False) + _split(events[half:], encode, max_bytes, last)


@dataclass
class IngestBatch:
    """Valid events of some input partitions, plus how far each of those partitions has got."""

    events: list[Item] = field(default_factory=list)
    # source -> (newest event time handed on or None, wall time ms at which the partition was
    # confirmed fully read, or None while it has records left)
    progress: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
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
        return cls(
            events=[tuple(e) for e in data["e"]],  # type: ignore[misc]
            progress={k: (v[0], _wall_ms(v[1])) for k, v in data["p"].items()},
            read_ms=data.get("r", 0),
        )


def _wall_ms(value: Any) -> int | None:
    """A wall time; records of older workers carried a bare "caught up" flag, which proves nothing."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class RoutedBatch:
    """In-order work for one engine partition: events, and wall-clock ticks for SLA timers.

    ``owner`` lists event ids of broadcast account events this partition owns (it writes their
    ``account.state``); other partitions only keep a replica of the account's profile.
    """

    events: list[Item] = field(default_factory=list)
    tick_ms: int | None = None
    owned: list[str] = field(default_factory=list)

    def dumps(self) -> bytes:
        return orjson.dumps({"e": self.events, "t": self.tick_ms, "o": self.owned})

    def records(self, max_bytes: int = MAX_RECORD_BYTES) -> list[bytes]:
        """Kafka records under ``max_bytes``; the tick goes with the last, owned ids with their event."""

        def encode(events: list[Item], last: bool) -> bytes:
            ids = {e[4]["event_id"] for e in events}
            return RoutedBatch(events, self.tick_ms if last else None, [o for o in self.owned if o in ids]).dumps()

        return _split(self.events, encode, max_bytes)

    @classmethod
    def loads(cls, raw: bytes) -> RoutedBatch:
        data = orjson.loads(raw)
        return cls(events=[tuple(e) for e in data["e"]], tick_ms=data["t"], owned=data["o"])  # type: ignore[misc]
