"""Acknowledge internal-topic records to Faust in offset order, once all their events are done.

A stage's records can finish out of order: one whose events still wait in an event-time merge
is held while the records after it are routed or decided. Faust commits from its list of acked
offsets and does not make sure it starts at the committed position: with the next offset to
read at 10, a held record 10 and an acked record 11, faust-streaming 0.15 commits 12 (its gap
check lets a gap of one through, and none is made at all while the committed offset is 0 or
unknown). A worker killed then would restart after the held record and lose its events. So
every record gets one extra reference when it arrives (``Message.incref``), and that
reference is dropped only when the record and every record before it in its partition are
done: the offsets Faust sees acked are always a prefix of what it delivered.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass
class Held:
    """One record (a Faust event) and how many of its events are still waiting."""

    event: Any
    remaining: int = 0


class InOrderAcks:
    """The records of each partition not yet acknowledged, in the order they arrived."""

    def __init__(self) -> None:
        self._pending: dict[Any, deque[Held]] = {}

    def hold(self, event: Any) -> Held:
        """Take over the acknowledgement of ``event``: it is acked by ``ack_done`` only."""
        event.message.incref()
        held = Held(event)
        self._pending.setdefault(event.message.tp, deque()).append(held)
        return held

    @staticmethod
    def done(tokens: Iterable[Held]) -> None:
        """One event of each token has been decided and made durable."""
        for held in tokens:
            held.remaining -= 1

    def ack_done(self) -> int:
        """Acknowledge, per partition, the finished records up to the first one still waiting;
        returns how many were acknowledged."""
        acked = 0
        for queue in self._pending.values():
            while queue and queue[0].remaining <= 0:
                queue.popleft().event.ack()
                acked += 1
        return acked

    def forget(self, tps: Iterable[Any]) -> None:
        """Partitions that moved to another worker: it reads their unacknowledged records again."""
        for tp in tps:
            self._pending.pop(tp, None)

    def waiting(self) -> int:
        return sum(len(q) for q in self._pending.values())
