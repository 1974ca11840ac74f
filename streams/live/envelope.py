"""Internal batch records between the live stages: compact JSON, never part of the contract.

A batch carries many events in one Kafka record, so Faust's per-record cost is paid once per
batch on the internal hops instead of once per event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

# An event travelling between stages: (event time ms, source "topic:partition", offset,
# logical stream name, validated payload as JSON-ready dict).
Item = tuple[int, str, int, str, dict[str, Any]]


@dataclass
class IngestBatch:
    """Valid events of some input partitions, plus how far each of those partitions has got."""

    events: list[Item] = field(default_factory=list)
    # source -> (newest event time seen or None, caught up with the partition's end)
    progress: dict[str, tuple[int | None, bool]] = field(default_factory=dict)

    def dumps(self) -> bytes:
        return orjson.dumps({"e": self.events, "p": self.progress})

    @classmethod
    def loads(cls, raw: bytes) -> IngestBatch:
        data = orjson.loads(raw)
        return cls(
            events=[tuple(e) for e in data["e"]],  # type: ignore[misc]
            progress={k: (v[0], v[1]) for k, v in data["p"].items()},
        )


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

    @classmethod
    def loads(cls, raw: bytes) -> RoutedBatch:
        data = orjson.loads(raw)
        return cls(events=[tuple(e) for e in data["e"]], tick_ms=data["t"], owned=data["o"])  # type: ignore[misc]
