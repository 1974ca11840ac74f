"""Event-time merge of many input partitions, so the live run decides in replay's order.

Kafka orders records within a partition only. Each source partition reports the newest event
time it has handed over and whether it has caught up with its end; an event is released once
every source that still has unread records has moved past it. While the sources are catching up
(a backfill, a restart) this gives exactly replay's event-time order; once they are live, events
are released as soon as every partition has moved on, or at once when the others are idle.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from streams.live.envelope import Item


@dataclass
class EventTimeMerge:
    sources: frozenset[str]
    newest: dict[str, int | None] = field(default_factory=dict)
    idle: dict[str, bool] = field(default_factory=dict)
    _heap: list[tuple[int, str, int, int, Item, Any]] = field(default_factory=list)
    _seq: int = 0

    def report(self, source: str, newest_ms: int | None, caught_up: bool) -> None:
        if newest_ms is not None:
            current = self.newest.get(source)
            self.newest[source] = newest_ms if current is None else max(current, newest_ms)
        elif source not in self.newest:
            self.newest[source] = None
        self.idle[source] = caught_up

    def add(self, item: Item, token: Any = None) -> None:
        """Queue an event; ``token`` comes back with it on release (the Kafka record to ack)."""
        at, source = item[0], item[1]
        current = self.newest.get(source)
        if current is None or at > current:
            self.newest[source] = at
        self._seq += 1
        heapq.heappush(self._heap, (at, source, item[2], self._seq, item, token))

    def bound(self) -> float:
        """Events at or before this time can go: no source will still deliver an earlier one."""
        low = float("inf")
        for source in self.sources:
            if self.idle.get(source, False):
                continue
            newest = self.newest.get(source)
            if newest is None:
                return float("-inf")  # not heard from yet: it may hold the oldest event
            low = min(low, newest)
        return low

    def release(self) -> Iterable[tuple[Item, Any]]:
        bound = self.bound()
        heap = self._heap
        while heap and heap[0][0] <= bound:
            entry = heapq.heappop(heap)
            yield entry[4], entry[5]

    @property
    def pending(self) -> int:
        return len(self._heap)

    @property
    def all_idle(self) -> bool:
        return not self._heap and all(self.idle.get(s, False) for s in self.sources)
