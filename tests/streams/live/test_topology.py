"""The live topology without a broker: events split over input partitions, routed by the
identity tasks in arrival order, ordered by each engine partition's event-time merge, decide
exactly what one ``leadstream replay`` over the whole history decides.

This is the claim the partitioned runtime rests on (``streams.live.routing``): the engine keys
make a contact, its visitors and its account's other contacts meet in one engine partition.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from processors.clock import to_ms
from processors.rules import load_rules
from schemas.catalog import BY_NAME
from schemas.models import Record
from schemas.validation import fields_of, validate
from streams.live.envelope import Event, IngestBatch, RoutedBatch
from streams.live.identify import IdentityTask
from streams.live.partition import PartitionEngine
from tests.streams.live.fixtures import DECISIONS, canonical, replay_decisions
from tests.streams.live.test_partition import RecordingTable
from tools.workload import WorkloadConfig, generate, write_jsonl

RULES = load_rules()
CFG = WorkloadConfig(seed=5, events=6_000, accounts=40, contacts=500, days=20, start=datetime(2026, 3, 2, tzinfo=UTC))
KEYS = {"web_visits": ("visitor_id",), "form_fills": ("visitor_id",), "crm_changes": ("contact_id", "account_id")}
TOPICS = {"web_visits": "web.visits", "form_fills": "form.fills", "crm_changes": "crm.changes"}
DECISION_TYPES = {"Mql": "mql", "Sla": "sla", "Lifecycle": "lifecycle", "Alert": "alerts"}


def _collect(got: dict[str, set[bytes]], outputs: list[Record]) -> None:
    """The decisions among ``outputs``, as canonical records by stream."""
    for record in outputs:
        stream = DECISION_TYPES.get(type(record).__name__)
        if stream:
            got[stream].add(canonical(record))


def _partitioned(partitions: int) -> dict[str, list[Event]]:
    """Every source ("topic:partition") with its events in offset order, keyed as SPEC §2 says."""
    sources: dict[str, list[Event]] = {}
    for stream, value in generate(CFG):
        record = validate(BY_NAME[stream], value)
        key = next((str(value[k]) for k in KEYS[stream] if value.get(k)), "")
        source = f"{TOPICS[stream]}:{zlib.crc32(key.encode()) % partitions}"
        events = sources.setdefault(source, [])
        events.append((to_ms(record.occurred_at), source, len(events), stream, fields_of(record)))  # type: ignore[attr-defined]
    return sources


def _run_live(partitions: int, seed: int) -> dict[str, set[bytes]]:
    """Sources interleaved at random (each in its own order), as the inputs arrive at the identity
    tasks; every engine partition hears each source's progress after its events."""
    sources = _partitioned(partitions)
    all_sources = frozenset(f"{t}:{p}" for t in TOPICS.values() for p in range(partitions))
    personal = RULES.fit.negatives.personal_email.normalised
    tasks = [
        IdentityTask.restore(i, RecordingTable(), personal, frozenset(f"{t}:{i}" for t in TOPICS.values()), 0, 10**12)
        for i in range(partitions)
    ]
    engines = []
    for p in range(partitions):
        pe = PartitionEngine.restore(p, RULES, RecordingTable())
        pe.listen(all_sources, skew_ms=0, partitions=partitions)
        engines.append(pe)
    rng = random.Random(seed)
    cursor = dict.fromkeys(sources, 0)
    got: dict[str, set[bytes]] = {s: set() for s in DECISIONS}

    def collect(outputs: list[Record]) -> None:
        _collect(got, outputs)

    last_at = 0
    while any(cursor[s] < len(sources[s]) for s in sources):
        source = rng.choice([s for s in sources if cursor[s] < len(sources[s])])
        step = rng.randint(1, 40)
        chunk = sources[source][cursor[source] : cursor[source] + step]
        cursor[source] += len(chunk)
        last_at = max(last_at, chunk[-1][0])
        task = tasks[int(source.rpartition(":")[2])]
        task.receive(IngestBatch(chunk, {source: (chunk[-1][0], None)}), None)
        _forward(task, engines, partitions, collect)
    for task in tasks:  # every source read to its end: the identity tasks let the rest go
        task.receive(IngestBatch([], {s: (None, 1) for s in task.merge.sources}), None)
        _forward(task, engines, partitions, collect)
    for pe in engines:  # then the clocks run out the SLAs
        collect(pe.release(last_at + 10 * 86_400_000)[0])
    return got


def _forward(task: IdentityTask, engines: list[PartitionEngine], partitions: int, collect: Callable) -> None:
    routed, _ = task.release(partitions)
    progress = task.progress()
    for p, pe in enumerate(engines):
        pe.receive(RoutedBatch(routed.get(p, []), progress), None)
        collect(pe.release()[0])


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[bytes]]:
    path: Path = tmp_path_factory.mktemp("topology") / "history.jsonl"
    write_jsonl(CFG, path)
    last = max(e[0] for events in _partitioned(1).values() for e in events)
    until = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=last + 10 * 86_400_000)
    return replay_decisions(path, until=until)


@pytest.mark.parametrize(("partitions", "seed"), [(1, 0), (4, 1), (12, 2)])
def test_partitioned_live_decides_what_replay_decides(
    expected: dict[str, set[bytes]], partitions: int, seed: int
) -> None:
    assert expected["mql"] and expected["alerts"], "the history must exercise the decisions"
    got = _run_live(partitions, seed)
    for stream in DECISIONS:
        missing, extra = expected[stream] - got[stream], got[stream] - expected[stream]
        assert not missing and not extra, (
            f"{stream}: {len(missing)} missing, {len(extra)} extra: {sorted(missing)[:1]} {sorted(extra)[:1]}"
        )


# --- the same topology killed and restarted between batches ------------------------------------


def _apply(changelog: list[tuple[bytes, bytes | None]]) -> dict[bytes, bytes]:
    """What Faust restores: the changelog records in order."""
    data: dict[bytes, bytes] = {}
    for key, value in changelog:
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def _run_with_kills(partitions: int, seed: int, kills: int) -> dict[str, set[bytes]]:
    """Ingest records per partition, identity tasks and engine partitions that read them from
    committed offsets, acknowledge a record once its last event is out and its state is
    written, and are killed ``kills`` times: every task restored from its changelog, every
    internal topic read again from the committed offsets. Commits stop at the first record not
    yet acknowledged, as ``streams.live.acking`` makes Faust's do (``test_acking``)."""
    rng = random.Random(seed)
    sources = _partitioned(partitions)
    all_sources = frozenset(f"{t}:{p}" for t in TOPICS.values() for p in range(partitions))
    personal = RULES.fit.negatives.personal_email.normalised
    ingest: list[list[bytes]] = [[] for _ in range(partitions)]
    cursor = dict.fromkeys(sources, 0)
    while any(cursor[s] < len(sources[s]) for s in sources):
        source = rng.choice([s for s in sources if cursor[s] < len(sources[s])])
        chunk = sources[source][cursor[source] : cursor[source] + rng.randint(1, 40)]
        cursor[source] += len(chunk)
        ingest[int(source.rpartition(":")[2])].append(IngestBatch(chunk, {source: (chunk[-1][0], None)}).dumps())
    for i in range(partitions):  # then every input partition is read to its end
        ingest[i].append(IngestBatch([], {f"{t}:{i}": (None, 1) for t in TOPICS.values()}).dumps())
    events: list[list[bytes]] = [[] for _ in range(partitions)]
    logs = {stage: [[] for _ in range(partitions)] for stage in ("identity", "engine")}
    committed = {stage: [0] * partitions for stage in ("identity", "engine")}
    got: dict[str, set[bytes]] = {s: set() for s in DECISIONS}

    def collect(outputs: list[Record]) -> None:
        _collect(got, outputs)

    def table(stage: str, p: int) -> RecordingTable:
        restored = RecordingTable(_apply(logs[stage][p]))
        restored.changelog = logs[stage][p]
        return restored

    def boot() -> tuple[list[IdentityTask], list[PartitionEngine], list[dict[int, int]], list[dict[int, int]]]:
        tasks = [
            IdentityTask.restore(
                i, table("identity", i), personal, frozenset(f"{t}:{i}" for t in TOPICS.values()), 0, 10**12
            )
            for i in range(partitions)
        ]
        engines = []
        for p in range(partitions):
            pe = PartitionEngine.restore(p, RULES, table("engine", p))
            pe.listen(all_sources, skew_ms=0, partitions=partitions)
            engines.append(pe)
        return tasks, engines, [{} for _ in range(partitions)], [{} for _ in range(partitions)]

    def commit(stage: str, p: int, held: dict[int, int]) -> None:
        offset = committed[stage][p]
        while held.get(offset) == 0:
            del held[offset]
            offset += 1
        committed[stage][p] = offset

    tasks, engines, held_i, held_e = boot()
    read_i, read_e = list(committed["identity"]), list(committed["engine"])
    kill_at = sorted(rng.randint(1, max(len(records) for records in ingest)) for _ in range(kills))
    step = 0
    while any(read_i[i] < len(ingest[i]) for i in range(partitions)) or any(
        read_e[p] < len(events[p]) for p in range(partitions)
    ):
        step += 1
        if kill_at and step >= kill_at[0]:
            kill_at.pop(0)
            tasks, engines, held_i, held_e = boot()
            read_i, read_e = list(committed["identity"]), list(committed["engine"])
        for i, task in enumerate(tasks):
            records = ingest[i][read_i[i] : read_i[i] + rng.randint(0, 3)]
            if not records:
                continue
            for n, raw in enumerate(records):
                held_i[i][read_i[i] + n] = task.receive(IngestBatch.loads(raw), read_i[i] + n)
            read_i[i] += len(records)
            routed, tokens = task.release(partitions)
            progress = task.progress()
            for p in range(partitions):
                events[p].append(RoutedBatch(routed.get(p, []), progress).dumps())
            task.persist()
            for offset in tokens:
                held_i[i][offset] -= 1
            commit("identity", i, held_i[i])
        for p, pe in enumerate(engines):
            records = events[p][read_e[p] : read_e[p] + rng.randint(0, 5)]
            for n, raw in enumerate(records):
                held_e[p][read_e[p] + n] = pe.receive(RoutedBatch.loads(raw), read_e[p] + n)
            read_e[p] += len(records)
            outputs, tokens = pe.release()
            collect(outputs)
            pe.persist()
            for offset in tokens:
                held_e[p][offset] -= 1
            commit("engine", p, held_e[p])
    last_at = max(e[0] for events_ in sources.values() for e in events_)
    for pe in engines:
        collect(pe.release(last_at + 10 * 86_400_000)[0])
    return got


@pytest.mark.parametrize(("partitions", "seed", "kills"), [(4, 3, 3), (3, 4, 2)])
def test_killed_and_restored_between_batches_it_still_decides_what_replay_decides(
    expected: dict[str, set[bytes]], partitions: int, seed: int, kills: int
) -> None:
    got = _run_with_kills(partitions, seed, kills)
    for stream in DECISIONS:
        missing, extra = expected[stream] - got[stream], got[stream] - expected[stream]
        assert not missing and not extra, f"{stream}: {len(missing)} missing, {len(extra)} extra"
