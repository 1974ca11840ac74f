"""Event-time merge of many input partitions, so the live run decides in replay's order.

Kafka orders records within a partition only. Each source partition reports the newest event
time it has handed over and, when it has nothing left to read, the wall time at which the broker
showed it so. An event is released once every source has either moved past it in event time or
been found empty at least ``skew_ms`` after the event arrived.

That last condition is what makes a quiet partition safe to pass. Producers do not write every
partition at the same instant: a record of partition B written just before one of partition A
can reach the broker a little later. A claim "B is empty" made before (or right when) A's event
arrived says nothing about such a record; a claim made ``skew_ms`` later does. While the sources
are catching up (a backfill, a restart) the events come out in exactly replay's event-time
order; live, an event waits at most for the next look at each quiet partition after
``skew_ms``. A record that arrives later than that, or out of event-time order within its own
partition, is released when it arrives: that is the lateness the live run accepts.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from streams.live.envelope import Routed


@dataclass
class EventTimeMerge:
    sources: frozenset[str]
    skew_ms: int  # LEADSTREAM_PARTITION_SKEW_MS
    newest: dict[str, int | None] = field(default_factory=dict)
    # source -> wall time (ms) at which it was confirmed fully read; None while it has records left
    empty_at: dict[str, int | None] = field(default_factory=dict)
    _heap: list[tuple[int, str, int, int, Routed, Any, int]] = field(default_factory=list)
    _seq: int = 0

    def report(self, source: str, newest_ms: int | None, empty_at_ms: int | None) -> None:
        if newest_ms is not None:
            current = self.newest.get(source)
            self.newest[source] = newest_ms if current is None else max(current, newest_ms)
        elif source not in self.newest:
            self.newest[source] = None
        self.empty_at[source] = empty_at_ms

    def add(self, item: Routed, token: Any = None, arrived_ms: int = 0) -> None:
        """Queue an event; ``token`` comes back with it on release (the Kafka record to ack).
        ``arrived_ms``: wall time it was read (0: long ago, e.g. restored after a restart)."""
        at, source = item[0], item[1]
        current = self.newest.get(source)
        if current is None or at > current:
            self.newest[source] = at
        self._seq += 1
        heapq.heappush(self._heap, (at, source, item[2], self._seq, item, token, arrived_ms))

    def bound(self, arrived_ms: int = 0) -> float:
        """Events that arrived at ``arrived_ms`` and are at or before this time can go: no source
        will still deliver an earlier one."""
        low = float("inf")
        settled = arrived_ms + self.skew_ms
        for source in self.sources:
            empty_at = self.empty_at.get(source)
            if empty_at is not None and empty_at >= settled:
                continue
            newest = self.newest.get(source)
            if newest is None:
                return float("-inf")  # not heard from yet: it may hold the oldest event
            low = min(low, newest)
        return low

    def release(self) -> Iterable[tuple[Routed, Any]]:
        heap = self._heap
        arrived: int | None = None
        bound = float("-inf")
        while heap:
            top = heap[0]
            if top[6] != arrived:  # a batch's events share their arrival: one bound per batch
                arrived = top[6]
                bound = self.bound(arrived)
            if top[0] > bound:
                return
            heapq.heappop(heap)
            yield top[4], top[5]

    def passed(self) -> dict[str, tuple[int | None, int | None]]:
        """Each source's progress as seen past this merge (for a stage downstream of it): no time
        beyond an event still held here, and no idle mark for a source with events held."""
        if not self._heap:
            return {s: (self.newest.get(s), self.empty_at.get(s)) for s in self.sources}
        first = self._heap[0][0] - 1
        held = {entry[1] for entry in self._heap}
        out: dict[str, tuple[int | None, int | None]] = {}
        for source in self.sources:
            newest = self.newest.get(source)
            out[source] = (
                None if newest is None else min(newest, first),
                None if source in held else self.empty_at.get(source),
            )
        return out

    def holding_back(self) -> list[str]:
        """The sources the oldest waiting event waits for (for the stats line)."""
        if not self._heap:
            return []
        at, arrived = self._heap[0][0], self._heap[0][6]
        settled = arrived + self.skew_ms
        out = []
        for source in sorted(self.sources):
            empty_at = self.empty_at.get(source)
            if empty_at is not None and empty_at >= settled:
                continue
            newest = self.newest.get(source)
            if newest is None or newest < at:
                out.append(source)
        return out

    @property
    def pending(self) -> int:
        return len(self._heap)

    @property
    def all_idle(self) -> bool:
        return not self._heap and all(self.empty_at.get(s) is not None for s in self.sources)
