"""What Faust would commit, computed by Faust's own consumer bookkeeping, while a record waits in a
merge: never past that record. The kill -9 test found the loss this guards against (a held
record skipped by a commit, then never read again after the restart)."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace
from typing import Any

from faust.transport.consumer import Consumer
from faust.types import TP
from faust.types.tuples import ConsumerMessage
from intervaltree import IntervalTree

from streams.live.acking import InOrderAcks

TOPIC = "app-events"
PARTITION = TP(TOPIC, 0)


class _Consumer:
    """The state ``Consumer.ack`` and ``Consumer._new_offset`` work on, run by Faust's own code."""

    def __init__(self, committed: int | None) -> None:
        self.app = SimpleNamespace(topics=SimpleNamespace(acks_enabled_for=lambda topic: True))
        self._committed_offset: dict[TP, int | None] = defaultdict(lambda: None, {PARTITION: committed})
        self._acked: dict[TP, list[int]] = defaultdict(list)
        self._acked_index: dict[TP, set[int]] = defaultdict(set)
        self._gap: dict[TP, IntervalTree] = defaultdict(IntervalTree)
        self._unacked_messages: set[Any] = set()
        self._n_acked = 0
        self._waiting_for_ack = None

    def ack(self, message: Any) -> bool:
        return Consumer.ack(self, message)  # type: ignore[arg-type]

    def would_commit(self) -> int | None:
        return Consumer._new_offset(self, PARTITION)  # type: ignore[arg-type]


class _Event:
    def __init__(self, consumer: _Consumer, offset: int) -> None:
        self.consumer = consumer
        self.message = ConsumerMessage(TOPIC, 0, offset, 0.0, 0, None, None, b"", None)
        self.message.incref()  # as Faust's conductor does for the one agent reading the topic

    def ack(self) -> bool:
        return self.message.ack(self.consumer)  # type: ignore[arg-type]


def _batch(consumer: _Consumer, first: int, count: int) -> list[_Event]:
    return [_Event(consumer, first + i) for i in range(count)]


def test_a_record_still_waiting_is_never_committed_past() -> None:
    for committed in (None, 0, 10):  # a new group, one at offset 0, one further on
        first = committed or 0
        consumer = _Consumer(committed)
        acks = InOrderAcks()
        events = _batch(consumer, first, 3)
        held = [acks.hold(e) for e in events]
        held[0].remaining = 1  # the first record's event waits in the merge
        for event in events:  # ``take_events`` acks every event when the agent body returns
            event.ack()
        acks.ack_done()
        assert consumer.would_commit() is None, committed
        acks.done([held[0]])
        assert acks.ack_done() == 3
        assert consumer.would_commit() == first + 3, committed


def test_acking_records_as_they_finish_would_skip_the_waiting_one() -> None:
    """The reason for ``InOrderAcks``: Faust's bookkeeping alone commits past a waiting record."""
    consumer = _Consumer(10)
    events = _batch(consumer, 10, 2)
    events[0].message.incref()  # held back, its later records acked as they finish
    for event in events:
        event.ack()
    assert consumer.would_commit() == 12


def test_moved_partitions_are_forgotten() -> None:
    consumer = _Consumer(0)
    acks = InOrderAcks()
    held = acks.hold(_Event(consumer, 0))
    held.remaining = 1
    assert acks.waiting() == 1
    acks.forget([PARTITION])
    assert acks.waiting() == 0
    assert acks.ack_done() == 0
