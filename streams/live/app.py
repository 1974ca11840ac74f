"""The Faust app: topics, tables, the ingest task and the two agents of the live runtime.

Faust is the runtime here (consumer group, rebalancing, changelogged tables, commits); the
decisions are ``processors.engine.Engine``'s, exactly as in replay. Delivery is at-least-once:
a record is acked only after everything it caused (outputs, internal records, state) has been
acknowledged by Kafka, and every output id is deterministic, so a redelivered input repeats
identical outputs that consumers (and our sinks) drop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import faust
import orjson
from confluent_kafka import Message

from processors.clock import DAY_MS, to_ms
from processors.engine import IDLE_WINDOWS
from processors.rules import Rules
from schemas import models
from schemas.catalog import INPUTS
from schemas.redaction import clip
from schemas.validation import accept, reference_ms
from streams.kafka_io import RecordWriter, avro_serde, producer
from streams.live import durable
from streams.live.envelope import IngestBatch, Item, RoutedBatch
from streams.live.inputs import TP, InputReader
from streams.live.merge import EventTimeMerge
from streams.live.partition import PartitionEngine
from streams.live.routing import Router, partition_of
from streams.live.stats import Stats, redact
from streams.live.topics import app_id, ensure_internal_topics, inputs_group, partition_count
from streams.live.tracking import ChangedKeys
from streams.settings import Settings

log = logging.getLogger("leadstream.worker")
RAW: dict[str, Any] = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
HEARTBEAT_S = 0.2  # how often every input partition reports progress, even when quiet
INGEST_BATCH = 2000  # input records per ingest batch (one flush, one commit)
INGEST_IDLE_S = 0.005  # pause when the input reader has nothing fetched
TICK_S = 1.0  # how often the SLA clocks follow the wall clock once the inputs are caught up
ROUTER_PREFIX = b"0|"  # the router table has one partition
FORGET_EVERY = 20_000  # released events between sweeps of idle anonymous visitors


def faust_app(settings: Settings) -> faust.App:
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # Faust makes only the last level
    conf: dict[str, Any] = {
        "broker": [f"kafka://{h.strip()}" for h in (settings.bootstrap_servers or "").split(",")],
        "store": settings.store_url,
        "web_enabled": False,
        "topic_partitions": settings.partitions,
        "topic_replication_factor": settings.replication_factor,
        "consumer_auto_offset_reset": "earliest",
        "broker_commit_every": 1000,
        "broker_commit_interval": 0.5,
        "processing_guarantee": "at_least_once",
        "producer_acks": -1,
        # A worker killed with -9 leaves the group after this long; its partitions move then.
        "broker_session_timeout": 10.0,
        "broker_heartbeat_interval": 1.0,
        "datadir": str(settings.data_dir),
    }
    if settings.sasl_mechanism:
        conf["broker_credentials"] = faust.SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password.get_secret_value() if settings.sasl_password else "",
            mechanism=settings.sasl_mechanism,
            ssl_context=_ssl_context(settings) if settings.security_protocol == "SASL_SSL" else None,
        )
    elif settings.security_protocol == "SSL":
        conf["broker_credentials"] = faust.SSLCredentials(_ssl_context(settings))
    return faust.App(app_id(settings), **conf)


def _ssl_context(settings: Settings) -> Any:
    import ssl

    return ssl.create_default_context(cafile=settings.ssl_ca_location)


def _fail_fast(stage: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """A stage that fails (Kafka refused a record, a bug) leaves records unacknowledged and memory
    ahead of Kafka; the only safe way on is a restart from the committed offsets and changelogs.
    So the worker exits with status 70 for its supervisor to start it again, as after a kill -9."""

    @functools.wraps(stage)
    async def run(*args: Any, **kwargs: Any) -> None:
        try:
            await stage(*args, **kwargs)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.critical("stage %s failed; exiting for a restart from committed offsets", stage.__name__, exc_info=True)
            logging.shutdown()
            os._exit(70)

    return run


@dataclass
class _TableChangelog:
    """A Faust table's data, with its changelog written by our confluent-kafka producer: one
    flush then covers outputs and state, and the records skip Faust's per-message Python path.
    Faust still restores the table from that topic."""

    table: Any
    writer: RecordWriter

    @property
    def data(self) -> Any:
        return self.table.data

    def send(self, partition: int, key: bytes, value: bytes | None) -> None:
        self.writer.send(self.table.changelog_topic.get_topic_name(), value, key=key, partition=partition)


@dataclass
class _Queued:
    """An ingest record's events waiting in the merge. Faust's ``take_events`` acknowledges a
    record (and so commits its offset) as soon as the agent has handled it, so what still waits
    is kept in the router's own changelogged state (``q|<offset>``) until its last event is out."""

    key: str
    items: list[Any]
    remaining: int
    stored: bool = False


@dataclass
class LiveRuntime:
    settings: Settings
    rules: Rules
    app: faust.App = field(init=False)
    stats: Stats = field(default_factory=Stats)

    def __post_init__(self) -> None:
        s = self.settings
        self.app = app = faust_app(s)
        self.id = app_id(s)
        self.input_names = {s.topic(spec.name): spec for spec in INPUTS}
        self.max_future_ms = s.max_future_ms
        self.ingest_name, self.routed_name = ensure_internal_topics(s, self.id)
        self.input_partitions = partition_count(s, next(iter(self.input_names)))
        self.partitions = partition_count(s, self.routed_name)
        self.sources = frozenset(f"{t}:{p}" for t in self.input_names for p in range(self.input_partitions))
        serde = avro_serde(s)
        if serde is None:
            raise ValueError("the live worker needs a schema registry (LEADSTREAM_REGISTRY_URL)")
        self.serde = serde
        self.producer = producer(s)
        self.writer = RecordWriter(s, self.producer, serde)
        self.lock = asyncio.Lock()
        # ingest
        self.reader = InputReader(s, inputs_group(s), list(self.input_names), self._inputs_revoked)
        self.next_offset: dict[Any, int] = {}  # input (topic, partition) or Faust TP -> next offset to process
        self.newest: dict[TP, int] = {}  # input (topic, partition) -> newest event time handed on
        self.last_report = 0.0
        # route
        self.merge: EventTimeMerge | None = None
        self.router: Router | None = None
        self.router_state: ChangedKeys | None = None
        self.last_tick = 0.0
        self.released = 0
        # decide
        self.engines: dict[int, PartitionEngine] = {}

        self.ingest_topic = app.topic(self.ingest_name, partitions=1, **RAW)
        self.routed_topic = app.topic(self.routed_name, partitions=self.partitions, **RAW)
        # bytes → bytes: Faust then writes and restores the changelog raw (our codec is the format)
        self.router_table = app.Table("router", partitions=1, key_type=bytes, value_type=bytes)
        self.engine_table = app.Table("engine", partitions=self.partitions, key_type=bytes, value_type=bytes)
        app.task(_fail_fast(self._ingest_loop))
        app.agent(self.ingest_topic, name="route", concurrency=1)(_fail_fast(self._route_agent))
        app.agent(self.routed_topic, name="decide", concurrency=1)(_fail_fast(self._decide_agent))
        app.timer(HEARTBEAT_S, name="heartbeat")(_fail_fast(self._heartbeat))
        app.timer(s.stats_every_s, name="stats")(self._log_stats)
        app.on_partitions_revoked.connect(self._on_revoked)

    # --- ingest: input records → validated events + progress ---------------------------------------

    async def _ingest_loop(self) -> None:
        """Batches from the input reader, each handed on in one flush, then committed. When the
        schema registry is away, the records that need it go back to the reader and the loop
        waits for it here (``await``: the other stages, timers and Faust run on), then goes on
        with them in their order."""
        await self._register_outputs()
        while True:
            messages = self.reader.poll(INGEST_BATCH)
            if not messages:
                await asyncio.sleep(INGEST_IDLE_S)
                continue
            async with self.lock:  # never contended: no stage body yields to the loop
                away = self._ingest(messages)
            if away is not None:
                await self._registry_back(away)
            await asyncio.sleep(0)  # the other stages run between batches

    def _ingest(self, messages: list[Message]) -> Any:
        """Validate, hand on, commit. Stops at the first record that needs the registry while it
        is away (returns that ``RegistryUnavailable``, else None): it and the records after it go
        back to the reader, so no offset is committed past it and nothing is dead-lettered for it."""
        from schemas.serde import RegistryUnavailable

        batch = IngestBatch()
        read: set[TP] = set()
        away: RegistryUnavailable | None = None
        with self.serde.no_wait():  # an event loop must not sleep in a registry call
            for i, message in enumerate(messages):
                if message.error():
                    log.warning("input read error: %s", message.error())
                    continue
                tp = (message.topic(), message.partition())
                before = (self.next_offset.get(tp), self.stats.consumed, self.stats.dead_letters)
                try:
                    item = self._accept(message)
                except RegistryUnavailable as exc:
                    self._not_accepted(tp, before)
                    self.reader.push_back(messages[i:])
                    away = exc
                    break
                read.add(tp)
                if item is not None:
                    batch.events.append(item)
        batch.progress = self._progress()
        batch.read_ms = int(time.time() * 1000)
        for record in batch.records():
            self.writer.send(self.ingest_name, record, partition=0)
        self.writer.flush(timeout=None)
        self.reader.commit({tp: self.next_offset[tp] for tp in read})
        self.last_report = time.monotonic()
        return away

    def _not_accepted(self, tp: TP, before: tuple[int | None, int, int]) -> None:
        """Undo what ``_accept`` counted for a record it could not finish (the registry is away):
        it is read again later, and the partition's position stays before it."""
        offset, self.stats.consumed, self.stats.dead_letters = before
        if offset is None:
            self.next_offset.pop(tp, None)
        else:
            self.next_offset[tp] = offset

    async def _register_outputs(self) -> None:
        """Every output schema registered (ids cached) before the first input batch, so deciding
        never needs the registry; an outage at start is waited out here, off the event loop."""
        from schemas.serde import RegistryUnavailable
        from streams.kafka_io import output_schemas

        def register(topic: str, avro_name: str) -> None:
            with self.serde.no_wait():
                self.serde.schema_id(topic, avro_name)

        for topic, avro_name in output_schemas(self.settings):
            try:
                await asyncio.to_thread(register, topic, avro_name)
            except RegistryUnavailable as exc:
                await self._registry_back(exc)
                await asyncio.to_thread(self.serde.schema_id, topic, avro_name)  # answered now

    async def _registry_back(self, away: Any) -> None:
        """Until the registry answers the call that failed: retried with capped backoff in a
        thread (a hung registry would block the loop for the whole request timeout), while the
        input consumer is still polled so that it stays in its group."""
        from schemas.serde import RegistryUnavailable

        for delay in self.serde.backoff.delays():
            await asyncio.sleep(delay)
            self.reader.keep_alive()
            try:
                await asyncio.to_thread(away.retry)
                return
            except RegistryUnavailable:
                continue
            except Exception:  # an answer (e.g. "no such schema id"): the record's own handling decides
                return

    def _accept(self, message: Message) -> Item | None:
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        spec = self.input_names[topic]
        tp = (topic, partition)
        self.next_offset[tp] = offset + 1
        self.stats.consumed += 1
        position = f"{partition}:{offset}"
        fmt = self.settings.input_format(spec.name)
        reference = reference_ms(message.timestamp()[1], int(time.time() * 1000))
        record = accept(
            spec, topic, position, message.value(), fmt, self.serde, message.key(), reference, self.max_future_ms
        )
        if isinstance(record, models.DeadLetter):
            self.writer.write(record)
            self.stats.dead_letters += 1
            log.warning("dead-lettered %s %s: %s", topic, position, clip(redact(record.error), 200))
            return None
        at = to_ms(record.occurred_at)  # type: ignore[attr-defined]
        if at > self.newest.get(tp, -1):
            self.newest[tp] = at
        return (at, f"{topic}:{partition}", offset, spec.name, record.model_dump(mode="json"))

    def _progress(self) -> dict[str, tuple[int | None, int | None]]:
        return {
            f"{t}:{p}": (self.newest.get((t, p)), self.reader.empty_at((t, p), self.next_offset.get((t, p))))
            for t, p in sorted(self.reader.assigned)
        }

    def _inputs_revoked(self, revoked: list[TP]) -> None:
        """Input partitions another worker now reads: their offsets are committed (synchronously,
        before they move) and forgotten here."""
        done = {tp: self.next_offset.pop(tp) for tp in revoked if tp in self.next_offset}
        self.reader.commit(done, wait=True)
        for tp in revoked:
            self.newest.pop(tp, None)

    async def _heartbeat(self) -> None:
        """Quiet input partitions still report, so the router never waits on them for nothing."""
        if time.monotonic() - self.last_report < HEARTBEAT_S or not self.reader.assigned:
            return
        async with self.lock:
            batch = IngestBatch(progress=self._progress(), read_ms=int(time.time() * 1000))
            self.writer.send(self.ingest_name, batch.dumps(), partition=0)
            self.last_report = time.monotonic()

    # --- route: event-time merge → identity cluster → engine partition ------------------------------

    def _router(self) -> tuple[EventTimeMerge, Router, ChangedKeys]:
        if self.merge is None or self.router is None or self.router_state is None:
            restored = durable.restore(self.router_table.data, ROUTER_PREFIX)
            state = ChangedKeys({k: orjson.loads(v) for k, v in durable.strip(restored.values, ROUTER_PREFIX)})
            state.take_changed()
            self.router_log = durable.BatchLog(
                _TableChangelog(self.router_table, self.writer), 0, ROUTER_PREFIX, restored
            )
            self.router_state = state
            self.router = Router(state, self.rules.fit.negatives.personal_email.normalised)
            self.merge = EventTimeMerge(self.sources, self.settings.partition_skew_ms)
            for key in sorted(k for k in state if k.startswith("q|")):
                items = [tuple(item) for item in state[key]]
                queued = _Queued(key, [], len(items), stored=True)
                for item in items:  # some may have gone out before the restart: the engine drops repeats
                    self.merge.add(item, queued)  # type: ignore[arg-type]
        return self.merge, self.router, self.router_state

    async def _route_agent(self, stream: Any) -> None:
        async for events in stream.take_events(200, within=0.05):
            # Faust commits the batch's offset when this body returns: the router's state (with
            # the events still waiting) is in its changelog by then.
            async with self.lock:
                self._route(events)

    def _route(self, events: list[Any]) -> None:
        merge, router, state = self._router()
        arrived: list[_Queued] = []
        for event in events:
            message = event.message
            self.next_offset[message.tp] = message.offset + 1
            batch = IngestBatch.loads(message.value)
            for source, (newest, empty_at) in batch.progress.items():
                merge.report(source, newest, empty_at)
            key = f"q|{message.offset:012d}"
            if batch.events and key not in state:  # in state: restored, its events already wait
                queued = _Queued(key, batch.events, len(batch.events))
                arrived.append(queued)
                for item in batch.events:
                    merge.add(item, queued, batch.read_ms)
        out: dict[int, RoutedBatch] = {}
        last_at = None
        for item, queued in merge.release():
            routed = router.route(item)
            if routed.broadcast:
                owner = partition_of(routed.cluster or "", self.partitions)
                for p in range(self.partitions):
                    batch_p = out.setdefault(p, RoutedBatch())
                    batch_p.events.extend(routed.items)
                    if p == owner:
                        batch_p.owned.append(item[4]["event_id"])
            elif routed.items:
                out.setdefault(partition_of(routed.cluster or "", self.partitions), RoutedBatch()).events.extend(
                    routed.items
                )
            queued.remaining -= 1
            if queued.remaining == 0 and queued.stored:
                state.pop(queued.key, None)
            last_at = item[0]
            self.released += 1
            if self.released % FORGET_EVERY == 0:
                router.forget_idle(last_at, IDLE_WINDOWS * self.rules.window_days * DAY_MS)
        now = time.monotonic()
        if merge.all_idle and now - self.last_tick >= TICK_S:
            # Caught up with every input: the SLA clocks now follow the wall clock (minus the
            # lateness we wait for), so a breach fires even when no further event arrives.
            self.last_tick = now
            tick = int(time.time() * 1000) - self.settings.lateness_ms
            for p in range(self.partitions):
                out.setdefault(p, RoutedBatch()).tick_ms = tick
        for p, batch_p in out.items():
            for record in batch_p.records():
                self.writer.send(self.routed_name, record, partition=p)
        # Routed records first, state after: state never runs ahead of what reached Kafka, so a
        # restart routes again from older state, which routes the same events the same way.
        self.writer.flush(timeout=None)
        for queued in arrived:
            if queued.remaining:  # still waiting when Faust commits its record: kept in state
                state[queued.key] = queued.items
                queued.stored = True
            queued.items = []
        changed = [(k, dict.get(state, k)) for k in state.take_changed()]
        self.router_log.write(
            (ROUTER_PREFIX + k.encode(), orjson.dumps(v) if v is not None else None) for k, v in changed
        )
        self.writer.flush(timeout=None)

    # --- decide: the engine, one per partition ---------------------------------------------------

    async def _decide_agent(self, stream: Any) -> None:
        # ``take_events`` acknowledges the batch once this body has run: outputs and state are
        # in Kafka by then.
        async for events in stream.take_events(100, within=0.02):
            async with self.lock:
                touched = {}
                for event in events:
                    self.next_offset[event.message.tp] = event.message.offset + 1
                    pe = self._decide(event.message.partition, event.message.value)
                    touched[pe.partition] = pe
                # Decisions first, state after: a crash in between redelivers the batch to the
                # old state, which repeats the same decisions (same ids) instead of losing them.
                self.writer.flush(timeout=None)
                for pe in touched.values():
                    pe.persist()
                self.writer.flush(timeout=None)

    def _decide(self, partition: int, raw: bytes) -> PartitionEngine:
        pe = self.engines.get(partition)
        if pe is None:
            pe = self.engines[partition] = PartitionEngine.restore(
                partition, self.rules, _TableChangelog(self.engine_table, self.writer)
            )
        batch = RoutedBatch.loads(raw)
        too_old, repeats = pe.engine.too_old, pe.engine.repeats
        outputs = pe.apply(batch)
        self.stats.decided += len(batch.events)
        self.stats.too_old += pe.engine.too_old - too_old  # the driver carries counts over an undo
        self.stats.repeats += pe.engine.repeats - repeats
        for record in outputs:
            self.writer.write(record)
            self.stats.count(record)
        return pe

    # --- plumbing ------------------------------------------------------------------------------------

    def _assigned(self, topics: Any) -> list[Any]:
        try:
            assignment = self.app.consumer.assignment()
        except faust.exceptions.ConsumerNotStarted:
            return []  # starting or stopped
        return [tp for tp in assignment if tp.topic in topics]

    async def _on_revoked(self, sender: Any, revoked: Any, **_: Any) -> None:
        """Forget what another worker now owns; it rebuilds it from the changelogs."""
        for tp in revoked:
            if tp.topic == self.routed_name:
                self.engines.pop(tp.partition, None)
            elif tp.topic == self.ingest_name:
                self.merge = self.router = self.router_state = None

    def _lag(self, topics: Any) -> int:
        lag = 0
        for tp in self._assigned(topics):
            try:
                high = self.app.consumer.highwater(tp)
            except AssertionError:  # unassigned by a rebalance since assignment() answered
                continue
            if high is not None and tp in self.next_offset:
                lag += max(0, high - self.next_offset[tp])
        return lag

    async def _log_stats(self) -> None:
        self._stats_line()

    def stopped(self) -> None:
        """The last stats line and a clear end mark, once Faust has stopped the agents."""
        self.producer.flush(10)
        self.reader.close()  # leaves the inputs group at once: its partitions move without waiting
        self._stats_line()
        log.info('{"event": "worker stopped"}')

    def _stats_line(self) -> None:
        """One JSON line: throughput, input lag, internal backlog (records), MQLs, breaches, and
        whether the schema registry is being waited for (``registry``, ``registry_waits``)."""
        line = self.stats.line(
            lag=self.reader.lag(self.next_offset),
            backlog=self._lag((self.ingest_name, self.routed_name)),
            waiting=self.merge.pending if self.merge else 0,
            partitions=sorted(self.engines),
            held=len(self.reader.held),  # input records waiting for the registry
            **self.serde.health.fields(),
        )
        log.info("%s", orjson.dumps(line).decode())
