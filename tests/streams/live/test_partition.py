"""An engine partition killed at any point of its changelog comes back to exactly where it was.

No broker here: a table double records the changelog in order; the test cuts it after any
record (a kill -9 mid-batch), restores, redelivers from an earlier batch (an uncommitted
offset) and checks the decisions equal an uninterrupted run's.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from processors.clock import to_ms
from processors.rules import load_rules
from schemas.catalog import BY_NAME
from schemas.validation import fields_of, validate
from streams.live.envelope import Role, Routed
from streams.live.partition import PartitionEngine
from tests.streams.live.fixtures import canonical
from tools.workload import WorkloadConfig, generate

RULES = load_rules()
CFG = WorkloadConfig(seed=3, events=1_500, accounts=12, contacts=120, days=12, start=datetime(2026, 3, 2, tzinfo=UTC))


class RecordingTable:
    """A ``durable.Changelog`` that records what was sent, in order."""

    def __init__(self, data: dict[bytes, bytes] | None = None) -> None:
        self.data: dict[bytes, bytes] = dict(data or {})
        self.changelog: list[tuple[bytes, bytes | None]] = []

    def send(self, partition: int, key: bytes, value: bytes | None) -> None:
        self.changelog.append((key, value))


Batch = tuple[list[Routed], int | None]  # events in order, then the SLA clock's tick


def _batches(size: int = 25) -> list[Batch]:
    """The workload in event-time order as one partition sees it (every event, one engine key),
    accepted at the edge as the live ingest does."""
    values = list(generate(CFG))
    ordered = sorted(enumerate(values), key=lambda x: (datetime.fromisoformat(x[1][1]["occurred_at"]), x[0]))
    events: list[Routed] = []
    for n, (stream, value) in ordered:
        record = validate(BY_NAME[stream], value)
        events.append((to_ms(record.occurred_at), "src:0", n, stream, fields_of(record), Role.DECIDE))  # type: ignore[attr-defined]
    out: list[Batch] = [(events[i : i + size], None) for i in range(0, len(events), size)]
    out[-1] = (out[-1][0], events[-1][0] + 10 * 86_400_000)  # the last batch fires every pending SLA deadline
    return out


BATCHES = _batches()


def _run(pe: PartitionEngine, batches: list[Batch]) -> set[bytes]:
    out = set()
    for events, tick in batches:
        decided = pe.decide(events, tick)
        out |= {canonical(r) for r in decided if type(r).__name__ in ("Mql", "Sla", "Lifecycle", "Alert")}
        pe.persist()
    return out


def _full() -> tuple[set[bytes], RecordingTable]:
    table = RecordingTable()
    pe = PartitionEngine.restore(0, RULES, table)
    return _run(pe, BATCHES), table


FULL, FULL_TABLE = _full()


def test_the_workload_decides_something() -> None:
    assert len(FULL) > 20


@settings(max_examples=25, deadline=None)
@given(cut=st.floats(0.0, 1.0), back=st.integers(0, 3))
def test_restore_after_a_kill_anywhere_gives_the_same_decisions(cut: float, back: int) -> None:
    log = FULL_TABLE.changelog
    k = int(cut * len(log))
    # Decisions before the kill: replay the uninterrupted run up to the batch being written at record k.
    table = RecordingTable()
    pe = PartitionEngine.restore(0, RULES, table)
    before: set[bytes] = set()
    done = 0
    for batch in BATCHES:
        if len(table.changelog) >= k:
            break
        before |= _run(pe, [batch])
        done += 1
    # What a restarted worker finds: the changelog up to record k, applied in order.
    data: dict[bytes, bytes] = {}
    for key, value in log[:k]:
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    restored = PartitionEngine.restore(0, RULES, RecordingTable(data))
    # Redelivery starts at the last committed offset, at or before what had been persisted.
    start = max(0, done - 1 - back)
    after = _run(restored, BATCHES[start:])
    assert before | after == FULL


def test_a_fresh_partition_starts_empty() -> None:
    assert PartitionEngine.restore(0, RULES, RecordingTable()).engine.store.contacts == {}


def _apply(data: dict[bytes, bytes], changelog: list[tuple[bytes, bytes | None]]) -> dict[bytes, bytes]:
    """What Faust restores: the changelog records in order over what was there."""
    out = dict(data)
    for key, value in changelog:
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


@settings(max_examples=30, deadline=None)
@given(
    kills=st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)), min_size=2, max_size=4), back=st.integers(0, 2)
)
def test_repeated_kills_give_the_same_decisions(kills: list[tuple[float, float]], back: int) -> None:
    """Killed several times, each time mid-write of a batch, restored from what reached the
    changelog and redelivered from a committed offset a little behind: no decision lost or changed."""
    data: dict[bytes, bytes] = {}
    decided: set[bytes] = set()
    start = 0
    for where, how_far in kills:
        table = RecordingTable(data)
        pe = PartitionEngine.restore(0, RULES, table)
        todo = BATCHES[start:]
        n = int(where * len(todo))
        decided |= _run(pe, todo[:n])
        written = len(table.changelog)
        if n < len(todo):  # the batch being written when the kill came: its outputs were flushed
            decided |= _run(pe, [todo[n]])
        partial = written + int(how_far * (len(table.changelog) - written))
        data = _apply(data, table.changelog[:partial])
        start = max(0, start + n - back)
    decided |= _run(PartitionEngine.restore(0, RULES, RecordingTable(data)), BATCHES[start:])
    assert decided == FULL
