"""`leadstream bench live`: the real worker against a real cluster, measured from the outside.

The worker runs as the subprocess an operator would start (``leadstream worker`` with its own
topics and app version), so the figures cover whatever runtime that command is, with no
knowledge of its internals beyond its consumer group (``leadstream-engine-v<app version>``).
A seeded workload is produced as Avro with ``occurred_at`` stamped at the moment of production,
first at a fixed rate (latency: the MQL's Kafka timestamp minus the produce time of the event
that decided it), then as fast as the producer can (throughput: events / (drained − first
produce), "drained" read from the group's committed offsets). A bare consumer + Avro decode over
the same input topics gives the raw baseline of the same run. Figures, not assertions.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import shutil
import struct
import time
import uuid
from collections import deque
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fastavro
import orjson
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec
from confluent_kafka.schema_registry import SchemaRegistryClient

from processors.rules import load_rules
from schemas.catalog import BY_NAME, INPUTS, STREAMS, record_key
from schemas.serde import AvroSerde, subject_for
from streams.kafka_io import avro_serde, coordinates, producer, registry
from streams.replay import replay
from streams.settings import Settings
from streams.topics import app_id, inputs_group
from tools.worker_process import WorkerProcess, run_settings, worker_env
from tools.workload import WorkloadConfig, generate

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)
POLL_S = 0.2  # how often committed offsets and high watermarks are read while waiting
# The worker may write records to its own internal topics while idle (heartbeats, clock ticks),
# so "drained" means: everything that existed GRACE_S ago is committed now.
GRACE_S = 1.0
MIN_LATENCY_SAMPLES = 100  # below this a p99 is one or two samples: say so instead of printing it
Stream = Iterator[tuple[str, dict[str, Any]]]


STATS_EVERY_S = 0.5  # the workers' stats lines tell the bench when nothing waits in their merge

# --- run identity and settings -----------------------------------------------------------------


@dataclass(frozen=True)
class LiveBenchConfig:
    """What to run; defaults are the issue's figures (5,000 events/s for 30 s, then 200,000 flat out)."""

    rate: float = 5_000.0
    seconds: float = 30.0
    full_events: int = 200_000
    warmup_events: int = 100
    seed: int = 7
    partitions: int = 4
    workers: int = 1  # `leadstream worker` processes in one group (scale-out on this machine)
    workdir: Path = Path(".run/bench-live")
    timeout_s: float = 600.0  # per wait for the worker to drain
    startup_timeout_s: float = 180.0  # the worker's first drain includes its start-up
    cleanup: bool = True  # delete the run's topics, groups and subjects afterwards

    @property
    def rate_events(self) -> int:
        return int(self.rate * self.seconds)

    @property
    def total_events(self) -> int:
        return self.warmup_events + self.rate_events + self.full_events


def run_id() -> str:
    """``bench-<uuid8>``: the topic prefix and app version of one run, so nothing is shared."""
    return f"bench-{uuid.uuid4().hex[:8]}"


# --- producing the workload ----------------------------------------------------------------------


def workload(cfg: LiveBenchConfig) -> Stream:
    """One seeded workload for all phases, so ids stay unique and state carries across phases.

    The generator's size is approximate: ask for a little more so every phase gets its count.
    """
    n = cfg.total_events + cfg.total_events // 100 + 10
    return generate(WorkloadConfig(seed=cfg.seed, events=n, accounts=max(20, n // 70), contacts=max(200, n // 7)))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def to_ms(at: datetime) -> int:
    """Exact epoch milliseconds (float ``timestamp()`` can land one ms low)."""
    return (at - EPOCH) // ONE_MS


@dataclass
class PhaseProduce:
    events: int = 0
    first_ms: int = 0
    last_ms: int = 0
    first_mono: float = 0.0
    flushed_mono: float = 0.0

    @property
    def rate(self) -> float:
        """Achieved produce rate: events over the span from the first to the last produce call."""
        span = (self.last_ms - self.first_ms) / 1000
        return self.events / span if span > 0 else float("nan")


def event_clock_start(wall_ms: int) -> int:
    """The event time of a run's first event: the UTC midnight before the run (the one before
    that if the run starts within ten minutes of midnight, so no event is dated ahead of the
    clock). The same seed then gives the same history every day, to the millisecond of the day."""
    day = wall_ms // 86_400_000
    if wall_ms - day * 86_400_000 < 600_000:
        day -= 1
    return day * 86_400_000


class StampedProducer:
    """Contract records, Avro-encoded and keyed as SPEC §2 says.

    ``occurred_at`` is the run's event clock: one millisecond per event from
    ``event_clock_start``, so two runs with one seed produce the same history (stamping the
    wall clock made every run's history differ, and events of one millisecond tie). It also
    remembers when every event was produced, for the latency of the decisions those events cause:
    a decision in one phase may cite profile events of an earlier one, so the deciding event is
    found among all of them.
    """

    def __init__(self, settings: Settings, serde: AvroSerde) -> None:
        self.settings = settings
        self.serde = serde
        self.producer: Producer = producer(settings, **{"linger.ms": 5})
        self.topics = {s.name: settings.topic(s.name) for s in INPUTS}
        self.produced_ms: dict[str, int] = {}
        self.event_ms = event_clock_start(now_ms())

    def send(self, stream: str, value: dict[str, Any]) -> int:
        ms = now_ms()
        spec = BY_NAME[stream]
        self.event_ms += 1
        record = spec.model.model_validate({**value, "occurred_at": EPOCH + self.event_ms * ONE_MS})
        topic = self.topics[stream]
        payload = self.serde.encode(topic, record)
        key = record_key(spec, record)
        while True:
            try:
                self.producer.produce(topic, value=payload, key=key.encode() if key else None)
                break
            except BufferError:  # librdkafka's queue is full: let deliveries drain it
                self.producer.poll(0.05)
        self.producer.poll(0)
        self.produced_ms[value["event_id"]] = ms
        return ms

    def flush(self, timeout: float = 120.0) -> None:
        remaining = self.producer.flush(timeout)
        if remaining:
            raise RuntimeError(f"{remaining} records not acknowledged by Kafka within {timeout}s")


def produce_phase(out: StampedProducer, events: Stream, count: int, rate: float | None) -> PhaseProduce:
    """``count`` events at ``rate`` per second (None: as fast as possible), then flush.

    The clock starts at the first event, once the generator has built its accounts and contacts.
    """
    phase = PhaseProduce()
    for i in range(count):
        item = next(events, None)
        if item is None:
            break
        if i == 0:
            phase.first_mono = time.monotonic()
        elif rate:
            ahead = phase.first_mono + i / rate - time.monotonic()
            if ahead > 0.002:  # sleep in small bursts; per-event sleeps cost more than they pace
                time.sleep(ahead)
        ms = out.send(*item)
        if i == 0:
            phase.first_ms = ms
        phase.last_ms = ms
        phase.events += 1
    out.flush()
    phase.flushed_mono = time.monotonic()
    return phase


# --- consumer-group lag --------------------------------------------------------------------------

TP = tuple[str, int]


@dataclass(frozen=True)
class Snapshot:
    at: float  # monotonic
    committed: dict[TP, int]
    highs: dict[TP, int]

    def lag(self, topics: Collection[str] | None = None) -> int:
        return sum(
            max(0, h - self.committed.get(tp, 0)) for tp, h in self.highs.items() if topics is None or tp[0] in topics
        )


class GroupLag:
    """Committed offsets of the worker's consumer groups (its input reader's and Faust's) against
    high watermarks, for the inputs and for every other topic they have committed on (the
    worker's own internal topics).

    Topics are fresh per run, so a partition without a committed offset counts from 0.
    """

    def __init__(self, settings: Settings, groups: list[str], inputs: list[str]) -> None:
        self.admin = AdminClient(settings.kafka_config())
        self.groups = groups
        self.inputs = inputs
        self.partition_counts: dict[str, int] = {}

    def committed(self) -> dict[TP, int]:
        committed: dict[TP, int] = {}
        for group in self.groups:
            request = [ConsumerGroupTopicPartitions(group)]
            try:
                result = self.admin.list_consumer_group_offsets(request)[group].result(timeout=10)
            except Exception:  # no such group yet: nothing committed
                continue
            committed.update(
                {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions or [] if tp.offset >= 0}
            )
        return committed

    def _partitions(self, topic: str) -> int:
        if topic not in self.partition_counts:
            meta = self.admin.list_topics(topic, timeout=10).topics.get(topic)
            self.partition_counts[topic] = len(meta.partitions) if meta is not None and meta.partitions else 0
        return self.partition_counts[topic]

    def highs(self, topics: set[str]) -> dict[TP, int]:
        request = {TopicPartition(t, p): OffsetSpec.latest() for t in topics for p in range(self._partitions(t))}
        if not request:
            return {}
        futures = self.admin.list_offsets(request, request_timeout=10)
        return {(tp.topic, tp.partition): f.result().offset for tp, f in futures.items()}

    def snapshot(self, attempts: int = 50) -> Snapshot:
        """Retried a while on broker errors: a topic the worker has just created (Faust's own) can
        answer "not leader" for a moment."""
        failed = 0
        while True:
            try:
                committed = self.committed()
                topics = set(self.inputs) | {t for t, _ in committed}
                return Snapshot(time.monotonic(), committed, self.highs(topics))
            except KafkaException:
                failed += 1
                if failed >= attempts:
                    raise
                time.sleep(POLL_S)


@dataclass(frozen=True)
class Drain:
    """How one wait for the worker went: from the producer's flush to lag 0 (or the timeout)."""

    inputs: frozenset[str]
    first: Snapshot  # right after the producer flushed
    last: Snapshot
    finished_mono: float | None  # None: not drained within the timeout
    inputs_done: Snapshot | None = None  # the first poll that saw the input topics committed to their ends

    @property
    def drained(self) -> bool:
        return self.finished_mono is not None

    @property
    def input_lag(self) -> int:
        return self.last.lag(self.inputs)

    @property
    def lag_after_produce(self) -> int:
        """Input records not yet committed when production ended: the worker fell behind by this much."""
        return self.first.lag(self.inputs)

    @property
    def catch_up_eps(self) -> float:
        """Input records committed per second while working off that backlog."""
        end = self.inputs_done or self.last
        span = end.at - self.first.at
        return (self._committed(end) - self._committed(self.first)) / span if span > 0 else 0.0

    def _committed(self, snap: Snapshot) -> int:
        return sum(snap.committed.get(tp, 0) for tp in snap.highs if tp[0] in self.inputs)


def inputs_committed(now: Snapshot, inputs: frozenset[str]) -> bool:
    return all(now.committed.get(tp, 0) >= h for tp, h in now.highs.items() if tp[0] in inputs)


def drained(now: Snapshot, earlier: Snapshot, inputs: frozenset[str]) -> bool:
    """Inputs committed to their ends, and everything that existed at ``earlier`` committed ``now``."""
    return inputs_committed(now, inputs) and all(now.committed.get(tp, 0) >= h for tp, h in earlier.highs.items())


def wait_drained(
    lag: GroupLag,
    timeout: float,
    alive: Callable[[], None],
    grace_s: float = GRACE_S,
    settled: Callable[[int], bool] = lambda _since_ms: True,
) -> Drain:
    """Poll until the groups have consumed and committed everything and ``settled(since_ms)`` says
    the workers hold nothing back (the router commits ingest records whose events still wait in
    its merge); call after the producer flushed.

    The finish time is the poll that saw it, so it is late by up to one poll plus the worker's
    commit interval (and its stats interval); ``grace_s`` covers records the worker writes to
    itself while idle.
    """
    inputs = frozenset(lag.inputs)
    first = snap = lag.snapshot()
    history: deque[Snapshot] = deque([first])
    deadline = first.at + timeout
    inputs_done = None
    committed_since_ms: int | None = None  # wall time the offsets first said drained
    while True:
        if inputs_done is None and inputs_committed(snap, inputs):
            inputs_done = snap
        ref = history[0]
        if ref.at <= snap.at - grace_s and drained(snap, ref, inputs):
            committed_since_ms = committed_since_ms or int(time.time() * 1000)
            if settled(committed_since_ms):
                return Drain(inputs, first, snap, time.monotonic(), inputs_done)
        else:
            committed_since_ms = None
        if time.monotonic() >= deadline:
            return Drain(inputs, first, snap, None, inputs_done)
        time.sleep(POLL_S)
        alive()
        snap = lag.snapshot()
        history.append(snap)
        while len(history) > 1 and history[1].at <= snap.at - grace_s:
            history.popleft()


# --- latency ---------------------------------------------------------------------------------------


def plain_consumer(settings: Settings, name: str) -> Consumer:
    """A consumer for ``assign()``: a throw-away group id that never commits, so no group is left behind."""
    group = f"{name}-{uuid.uuid4().hex[:8]}"
    return Consumer(settings.kafka_config(**{"group.id": group, "enable.auto.commit": False}))


def read_topic(settings: Settings, topic: str) -> Iterator[Any]:
    """Every record of ``topic`` from the beginning to its current end (assigned: no group, no commits)."""
    c = plain_consumer(settings, "bench-reader")
    try:
        meta = c.list_topics(topic, timeout=10).topics[topic]
        ends = {}
        for p in meta.partitions:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = high
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        while ends:
            for msg in c.consume(1000, timeout=1.0):
                error = msg.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise RuntimeError(f"reading {topic}: {error}")
                    continue
                yield msg
                _, partition, offset = coordinates(msg)
                if offset + 1 >= ends.get(partition, 0):
                    ends.pop(partition, None)
    finally:
        c.close()


def deciding_event(mql: dict[str, Any], produced_ms: dict[str, int]) -> str | None:
    """The event that made the decision: a reason whose ``at`` is the MQL's ``occurred_at``.

    Fit reasons carry the decision time too but name older profile events, so of those the one
    produced last wins; without any, the newest reason.
    """
    reasons = mql.get("reasons") or []
    at = mql["occurred_at"]
    same = [r["event_id"] for r in reasons if r["at"] == at and r["event_id"] in produced_ms]
    if same:
        return max(same, key=produced_ms.__getitem__)
    if reasons:
        return max(reasons, key=lambda r: r["at"])["event_id"]
    return None


MqlKey = tuple[str, str, str, float, str, bool]


def mql_key(mql: dict[str, Any]) -> MqlKey:
    """What an MQL decided, independent of the day the run happened: its kind and lead, the
    event that decided it, its score, priority and fast track."""
    subject = mql.get("contact_id") or mql.get("email") or mql.get("account_id") or ""
    deciding = next((r["event_id"] for r in mql.get("reasons") or [] if r["at"] == mql["occurred_at"]), "")
    return (mql["kind"], subject, deciding, round(mql["total_score"], 3), mql["priority"], mql["fast_track"])


def digest(keys: set[MqlKey]) -> str:
    """A short fingerprint of an MQL set: two runs with one seed must print the same."""
    return hashlib.sha256(orjson.dumps(sorted(keys))).hexdigest()[:16]


@dataclass
class Latency:
    samples: list[int] = field(default_factory=list)  # ms
    mqls: int = 0  # distinct MQLs on the topic (all phases)
    elsewhere: int = 0  # MQLs decided by an event of another phase (or by none the bench produced)
    keys: set[MqlKey] = field(default_factory=set)  # every MQL decided (see ``mql_key``)

    def pct(self, q: float) -> float:
        """Nearest-rank percentile (q in 0..100)."""
        ordered = sorted(self.samples)
        return float(ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1])


def mql_latency(settings: Settings, serde: AvroSerde, produced_ms: dict[str, int], phase: PhaseProduce) -> Latency:
    """Event → decision latency of every MQL decided by an event of ``phase`` (the fixed-rate one)."""
    out = Latency()
    seen: set[str] = set()
    for msg in read_topic(settings, settings.topic("mql")):
        mql = serde.decode(msg.value(), BY_NAME["mql"].avro_name)
        if mql["mql_id"] in seen:  # at-least-once: a redelivered decision repeats its id
            continue
        seen.add(mql["mql_id"])
        out.mqls += 1
        out.keys.add(mql_key({**mql, "occurred_at": _iso(mql["occurred_at"]), "reasons": _reasons(mql)}))
        event_id = deciding_event(mql, produced_ms)
        at = produced_ms.get(event_id or "")
        if at is None or not phase.first_ms <= at <= phase.last_ms:
            out.elsewhere += 1
            continue
        out.samples.append(msg.timestamp()[1] - at)
    return out


def _iso(at: Any) -> str:
    return at.isoformat() if isinstance(at, datetime) else str(at)


def _reasons(mql: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**r, "at": _iso(r["at"])} for r in mql.get("reasons") or []]


def replay_of_inputs(settings: Settings, serde: AvroSerde, workdir: Path) -> set[MqlKey]:
    """The MQLs ``leadstream replay`` decides on exactly what the input topics hold: the live
    run's decisions must be these (the runtime's claim: live equals replay within the lateness)."""
    history = workdir / "inputs.jsonl"
    with history.open("wb") as fh:
        for spec in INPUTS:
            for msg in read_topic(settings, settings.topic(spec.name)):
                value = serde.decode(msg.value(), spec.avro_name)
                value["occurred_at"] = _iso(value["occurred_at"])
                fh.write(orjson.dumps({"topic": spec.default_topic, "value": value}) + b"\n")
    out = io.BytesIO()
    replay(history, out, load_rules())
    history.unlink()
    keys: set[MqlKey] = set()
    mql_topic = BY_NAME["mql"].default_topic
    for line in out.getvalue().splitlines():
        envelope = orjson.loads(line)
        if envelope["topic"] == mql_topic:
            value = envelope["value"]
            keys.add(
                mql_key(
                    {
                        **value,
                        "occurred_at": _norm(value["occurred_at"]),
                        "reasons": [{**r, "at": _norm(r["at"])} for r in value.get("reasons") or []],
                    }
                )
            )
    return keys


def _norm(at: str) -> str:
    return datetime.fromisoformat(at).isoformat()


# --- raw baseline ---------------------------------------------------------------------------------

_HEADER = struct.Struct(">bI")


def raw_baseline(settings: Settings, client: SchemaRegistryClient) -> tuple[int, float]:
    """A bare consumer + schemaless Avro decode over the input topics: (events, events/s).

    The floor any consumer of these topics pays before deciding anything: fetch, skip the
    5-byte wire header, decode with the writer schema from the registry.
    """
    c = plain_consumer(settings, "bench-baseline")
    writers: dict[int, Any] = {}
    try:
        ends: dict[TP, int] = {}
        for spec in INPUTS:
            topic = settings.topic(spec.name)
            for p in c.list_topics(topic, timeout=10).topics[topic].partitions:
                low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                if high > low:
                    ends[(topic, p)] = high
        c.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in ends])
        n, start = 0, 0.0
        reader = fastavro.schemaless_reader
        while ends:
            for msg in c.consume(1000, timeout=1.0):
                if msg.error():
                    continue
                if not n:  # timed from the first record: connecting and the first fetch are not decoding
                    start = time.perf_counter()
                data = msg.value() or b""
                _, schema_id = _HEADER.unpack_from(data)
                writer = writers.get(schema_id)
                if writer is None:
                    schema = client.get_schema(schema_id)
                    writer = writers[schema_id] = fastavro.parse_schema(orjson.loads(schema.schema_str or ""))
                reader(io.BytesIO(data[5:]), writer, None)
                n += 1
                topic, partition, offset = coordinates(msg)
                if offset + 1 >= ends.get((topic, partition), 0):
                    ends.pop((topic, partition), None)
        return n, n / (time.perf_counter() - start)
    finally:
        c.close()


# --- clean-up -----------------------------------------------------------------------------------


def cleanup(settings: Settings, client: SchemaRegistryClient, groups: list[str]) -> None:
    """Delete the run's topics (its own and the worker's ``<group>-*``), groups and subjects; best effort."""
    admin = AdminClient(settings.kafka_config())
    ours = {settings.topic(s.name) for s in STREAMS}
    prefixes = tuple(f"{g}-" for g in groups)
    topics = [t for t in admin.list_topics(timeout=10).topics if t in ours or t.startswith(prefixes)]
    with contextlib.suppress(Exception):
        for future in admin.delete_consumer_groups(groups, request_timeout=10).values():
            with contextlib.suppress(Exception):
                future.result(10)
    if topics:
        for future in admin.delete_topics(topics, operation_timeout=30).values():
            with contextlib.suppress(Exception):
                future.result(30)
    with contextlib.suppress(Exception):
        for subject in client.get_subjects():
            if subject in {subject_for(t) for t in ours} or subject.startswith(prefixes):
                with contextlib.suppress(Exception):
                    client.delete_subject(subject)


# --- the run ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """One production phase and the wait for the worker to drain it."""

    produced: PhaseProduce
    drain: Drain

    @property
    def drained(self) -> bool:
        return self.drain.drained

    def describe(self) -> str:
        """Produce rate, then when lag reached 0 (or that it did not), and any backlog worked off."""
        d, flushed = self.drain, self.produced.flushed_mono
        line = f"produced {self.produced.events:,} at {self.produced.rate:,.0f} events/s; "
        if d.drained:
            line += f"lag 0 {d.finished_mono - flushed:.1f} s after the last event"  # type: ignore[operator]
        else:
            line += f"NOT drained within {d.last.at - d.first.at:.0f} s (input lag {d.input_lag:,})"
        if d.inputs_done is not None and d.finished_mono != d.inputs_done.at:
            line += f" (input topics committed after {d.inputs_done.at - flushed:.1f} s)"
        if d.lag_after_produce > 0:
            line += (
                f"\n  input lag when production ended: {d.lag_after_produce:,}"
                f" (worked off at {d.catch_up_eps:,.0f} events/s)"
            )
        return line


@dataclass
class LiveBench:
    cfg: LiveBenchConfig
    rid: str
    bootstrap: str
    log_path: Path
    # warm-up, fixed, full; a phase after one that did not drain is left out
    phases: dict[str, Phase] = field(default_factory=dict)
    latency: Latency = field(default_factory=Latency)
    baseline_events: int = 0
    baseline_eps: float = 0.0
    peak_rss_mib: float | None = None
    replay_keys: set[MqlKey] | None = None  # the MQLs replay decides on the run's input topics
    shares: list[dict[str, Any]] = field(default_factory=list)  # each worker's last stats line

    @property
    def drained(self) -> bool:
        return len(self.phases) == 3 and all(p.drained for p in self.phases.values())

    @property
    def sustained_eps(self) -> float:
        """Full-speed events / (lag 0 − first produce): the worker's rate when it never waits for input."""
        full = self.phases.get("full")
        if full is None or not full.drained or not full.produced.events:
            return 0.0
        return full.produced.events / (full.drain.finished_mono - full.produced.first_mono)  # type: ignore[operator]

    def _latency_lines(self) -> list[str]:
        lat = self.latency
        n = len(lat.samples)
        head = f"  event → decision latency (MQL timestamp − produce time of the deciding event), {n:,} samples"
        if n == 0:
            return [head + ": none (no MQL decided by a fixed-rate event; raise --seconds or --rate)"]
        lines = [f"{head}: p50 {lat.pct(50):,.0f} ms, p99 {lat.pct(99):,.0f} ms, max {max(lat.samples):,.0f} ms"]
        if n < MIN_LATENCY_SAMPLES:
            lines.append(
                f"  only {n} samples (< {MIN_LATENCY_SAMPLES}): the p99 means little; raise --seconds or --rate"
            )
        fixed = self.phases.get("fixed")
        if fixed is not None and fixed.drain.lag_after_produce > self.cfg.rate:
            lines.append("  the worker fell behind the fixed rate, so these latencies are mostly time spent queued")
        return lines

    def _equivalence_lines(self) -> list[str]:
        live = self.latency.keys
        lines = [f"  MQL set digest {digest(live)} ({len(live):,} distinct decisions; same seed, same digest)"]
        if self.replay_keys is not None:
            missing, extra = self.replay_keys - live, live - self.replay_keys
            verdict = "identical" if not missing and not extra else f"{len(missing)} missing, {len(extra)} extra"
            lines.append(
                f"  replay of the same input topics: digest {digest(self.replay_keys)}; live vs replay: {verdict}"
            )
        return lines

    def _share_lines(self) -> list[str]:
        """Each worker's share of every stage: input partitions read, identity and engine partitions."""
        lines = []
        for i, st in enumerate(self.shares):
            lines.append(
                f"  worker {i}: ingest {len(st.get('inputs', []))} input partitions ({st.get('consumed', 0):,} read),"
                f" identity partitions {st.get('identity', [])} ({st.get('routed', 0):,} routed),"
                f" engine partitions {st.get('partitions', [])} ({st.get('decided', 0):,} decided)"
            )
        return lines

    def render(self) -> str:
        c, ph = self.cfg, self.phases
        skipped = "skipped: the phase before it did not drain"
        ratio = self.sustained_eps / self.baseline_eps if self.baseline_eps else float("nan")
        rss = f"{self.peak_rss_mib:,.0f} MiB" if self.peak_rss_mib is not None else "n/a (no /proc)"
        lines = [
            f"cluster {self.bootstrap}; topics {self.rid}.* ({c.partitions} partitions); app version {self.rid}",
            f"workers: {c.workers} (first log {self.log_path})",
            f"warm-up (seed {c.seed}): {ph['warm-up'].describe()}",
            f"fixed rate, asked {c.rate:,.0f} events/s for {c.seconds:g} s: "
            + (ph["fixed"].describe() if "fixed" in ph else skipped),
        ]
        if "fixed" in ph:
            lines += self._latency_lines()
        lines += [
            "full speed: " + (ph["full"].describe() if "full" in ph else skipped),
            f"  sustained: {self.sustained_eps:,.0f} events/s (events / (lag 0 − first produce))",
            f"raw baseline (bare consumer + fastavro decode, same input topics, {self.baseline_events:,} events):"
            f" {self.baseline_eps:,.0f} events/s",
            f"  ratio to baseline: {ratio:.3f}",
            f"worker peak RSS (all workers): {rss}",
            f"MQLs: {self.latency.mqls:,} in all phases ({self.latency.elsewhere:,} decided by events of other phases)",
            *self._equivalence_lines(),
            *self._share_lines(),
            f"lag 0 is read from the group's committed offsets every {POLL_S:g} s, so it lands up to ~1 s late",
        ]
        return "\n".join(lines)


def run_phases(
    out: StampedProducer,
    events: Stream,
    lag: GroupLag,
    workers: list[WorkerProcess],
    cfg: LiveBenchConfig,
    echo: Callable,
) -> dict[str, Phase]:
    """Warm-up (the workers are up, deciding and sharing the partitions), fixed rate (latency),
    full speed (throughput).

    A phase starts only when the one before drained: its figures would otherwise include that backlog.
    """

    def alive() -> None:
        for worker in workers:
            worker.check_alive()

    def settled(since_ms: int) -> bool:
        """Every worker reported, after ``since_ms``, no event waiting in its merge or backlog."""
        lines = [w.stats() for w in workers]
        return all(s.get("at_ms", 0) >= since_ms and not s.get("waiting") and not s.get("backlog") for s in lines)

    plan = [
        ("warm-up", cfg.warmup_events, 200.0, cfg.startup_timeout_s),
        ("fixed", cfg.rate_events, cfg.rate, cfg.timeout_s),
        ("full", cfg.full_events, None, cfg.timeout_s),
    ]
    phases: dict[str, Phase] = {}
    for name, count, rate, timeout in plan:
        echo(f"{name}: {count:,} events at {f'{rate:,.0f}/s' if rate else 'full speed'}")
        produced = produce_phase(out, events, count, rate)
        phases[name] = phase = Phase(produced, wait_drained(lag, timeout, alive, settled=settled))
        echo(f"{name}: {phase.describe()}")
        if not phase.drained:
            break
        if name == "warm-up":
            wait_shared(workers, cfg.startup_timeout_s, alive)
    return phases


def wait_shared(workers: list[WorkerProcess], timeout: float, alive: Callable[[], None]) -> None:
    """Until every worker decides some engine partitions: the measured phases start after the
    rebalance that shares them (one worker passes at once)."""
    deadline = time.monotonic() + timeout
    while len(workers) > 1 and not all(w.stats().get("partitions") for w in workers):
        alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"the workers did not share the partitions within {timeout:.0f} s")
        time.sleep(POLL_S)


def bench_live(base: Settings, cfg: LiveBenchConfig, echo: Callable[[str], None] = lambda _: None) -> LiveBench:
    """Run the worker against ``base``'s cluster on fresh topics, measure, stop it, clean up."""
    if not base.bootstrap_servers or not base.registry_url:
        raise ValueError("bench live needs a Kafka cluster and a schema registry")
    rid = run_id()
    workdir = cfg.workdir / rid
    workdir.mkdir(parents=True, exist_ok=True)
    settings = run_settings(base, rid, cfg.partitions)
    serde = avro_serde(settings)
    assert serde is not None
    client = registry(settings)
    groups = [inputs_group(settings), app_id(settings)]
    workers = [
        WorkerProcess(
            worker_env(settings, workdir / f"worker-{i}-data", stats_every_s=STATS_EVERY_S), workdir / f"worker-{i}.log"
        )
        for i in range(max(cfg.workers, 1))
    ]
    result = LiveBench(cfg, rid, str(settings.bootstrap_servers), workers[0].log_path)
    out = StampedProducer(settings, serde)
    echo(f"run {rid}: starting {len(workers)} `leadstream worker` (logs in {workdir})")
    try:
        for worker in workers:
            worker.start()
        try:
            lag = GroupLag(settings, groups, [settings.topic(s.name) for s in INPUTS])
            result.phases = run_phases(out, workload(cfg), lag, workers, cfg, echo)
            result.shares = [w.stats() for w in workers]
            peaks = [w.peak_rss_mib() for w in workers]
            result.peak_rss_mib = sum(p for p in peaks if p is not None) if any(p is not None for p in peaks) else None
        finally:
            for worker in workers:
                worker.stop()
        echo("worker stopped; reading MQLs and measuring the raw baseline")
        fixed = result.phases.get("fixed")
        if fixed is not None:
            result.latency = mql_latency(settings, serde, out.produced_ms, fixed.produced)
        if result.drained:
            echo("replaying the run's input topics to compare decisions")
            result.replay_keys = replay_of_inputs(settings, serde, workdir)
        result.baseline_events, result.baseline_eps = raw_baseline(settings, client)
        return result
    finally:
        if cfg.cleanup:
            cleanup(settings, client, groups)
            for i in range(len(workers)):
                shutil.rmtree(workdir / f"worker-{i}-data", ignore_errors=True)
