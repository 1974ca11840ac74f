"""The router's event-time merge: replay's order across partitions, and when a quiet partition
may be passed."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from streams.live.envelope import Event as Item
from streams.live.merge import EventTimeMerge

SKEW = 250
A, B = "web:0", "web:1"


def _item(at: int, source: str, offset: int) -> Item:
    return (at, source, offset, "web_visits", {"event_id": f"{source}-{offset}"})


def _released(merge: EventTimeMerge) -> list[int]:
    return [item[0] for item, _ in merge.release()]


def test_waits_for_a_partition_that_has_not_reported() -> None:
    merge = EventTimeMerge(frozenset({A, B}), SKEW)
    merge.add(_item(100, A, 0), arrived_ms=1_000)
    assert _released(merge) == []
    merge.report(B, 50, None)  # B has records left and is only at 50
    assert _released(merge) == []
    merge.report(B, 150, None)
    assert _released(merge) == [100]


def test_a_quiet_partition_is_passed_only_once_it_was_found_empty_after_the_event_arrived() -> None:
    merge = EventTimeMerge(frozenset({A, B}), SKEW)
    merge.report(B, None, 900)  # found empty before the event arrived: proves nothing about it
    merge.add(_item(100, A, 0), arrived_ms=1_000)
    assert _released(merge) == []
    merge.report(B, None, 1_000 + SKEW - 1)  # too soon: B's record may still be on its way
    assert _released(merge) == []
    merge.report(B, None, 1_000 + SKEW)
    assert _released(merge) == [100]
    assert merge.all_idle is False  # A has not said it is empty
    merge.report(A, 100, 1_300)
    assert merge.all_idle


def test_a_record_that_reaches_a_quiet_partition_late_still_comes_out_in_order() -> None:
    """The live race: A's event is read while B's earlier event is still on its way."""
    merge = EventTimeMerge(frozenset({A, B}), SKEW)
    merge.report(B, None, 900)
    merge.add(_item(200, A, 0), arrived_ms=1_000)
    merge.report(A, 200, 1_000)
    assert _released(merge) == []
    merge.add(_item(150, B, 0), arrived_ms=1_050)  # written first, arrived 50 ms later
    merge.report(B, 150, 1_050)
    merge.report(A, 200, 1_400)
    merge.report(B, 150, 1_400)
    assert _released(merge) == [150, 200]


def test_restored_events_count_as_long_arrived() -> None:
    merge = EventTimeMerge(frozenset({A, B}), SKEW)
    merge.add(_item(100, A, 0))
    merge.report(B, None, 5)
    assert _released(merge) == []  # 5 < 0 + skew
    merge.report(B, None, SKEW)
    assert _released(merge) == [100]


@given(st.lists(st.lists(st.integers(0, 10_000), max_size=20), min_size=1, max_size=4), st.randoms())
def test_backfill_comes_out_in_event_time_order(partitions: list[list[int]], rnd: random.Random) -> None:
    """Partitions read in any interleaving, each in its own order: the output is sorted."""
    sources = [f"p:{i}" for i in range(len(partitions))]
    merge = EventTimeMerge(frozenset(sources), SKEW)
    queues = {s: sorted(times) for s, times in zip(sources, partitions, strict=True)}
    offsets = dict.fromkeys(sources, 0)
    out: list[int] = []
    clock = 0
    while any(queues.values()):
        clock += 1
        source = rnd.choice([s for s in sources if queues[s]])
        at = queues[source].pop(0)
        merge.add(_item(at, source, offsets[source]), arrived_ms=clock)
        offsets[source] += 1
        for s in sources:  # each report: how far the partition got, empty only once it is
            merge.report(s, None, None if queues[s] else clock)
        out += _released(merge)
    for s in sources:
        merge.report(s, None, clock + SKEW)
    out += _released(merge)
    assert out == sorted(t for times in partitions for t in times)
    assert merge.pending == 0
