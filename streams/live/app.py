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
from schemas.validation import accept, fields_of, reference_ms
from streams.kafka_io import RecordWriter, avro_serde, coordinates, producer
from streams.live.acking import Held, InOrderAcks
from streams.live.envelope import Event, IngestBatch, Progress, RoutedBatch
from streams.live.identify import IdentityTask
from streams.live.inputs import TP, InputReader
from streams.live.merge import EventTimeMerge
from streams.live.partition import PartitionEngine
from streams.live.stats import Stats, redact
from streams.settings import Settings
from streams.topics import app_id, ensure_internal_topics, inputs_group

log = logging.getLogger("leadstream.worker")
RAW: dict[str, Any] = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
HEARTBEAT_S = 0.2  # how often every input partition reports progress, even when quiet
INGEST_BATCH = 2000  # input records per ingest batch (one flush, one commit)
INGEST_IDLE_S = 0.005  # pause when the input reader has nothing fetched
TICK_S = 1.0  # how often the SLA clocks follow the wall clock once the inputs are caught up


def faust_app(settings: Settings, partitions: int) -> faust.App:
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # Faust makes only the last level
    conf: dict[str, Any] = {
        "broker": [f"kafka://{h.strip()}" for h in (settings.bootstrap_servers or "").split(",")],
        "store": settings.store_url,
        "web_enabled": False,
        "topic_partitions": partitions,
        "topic_replication_factor": settings.replication_factor,
        "consumer_auto_offset_reset": "earliest",
        "broker_commit_every": 1000,
        "broker_commit_interval": 0.5,
        "processing_guarantee": "at_least_once",
        # A record whose events wait in a merge stays unacknowledged (``streams.live.acking``);
        # Faust must not wait for it at a rebalance or a stop (it would wait for ever): it is read again.
        "stream_wait_empty": False,
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
class LiveRuntime:
    settings: Settings
    rules: Rules
    app: faust.App = field(init=False)
    stats: Stats = field(default_factory=Stats)

    def __post_init__(self) -> None:
        s = self.settings
        self.id = app_id(s)
        self.input_names = {s.topic(spec.name): spec for spec in INPUTS}
        self.max_future_ms = s.max_future_ms
        self.topics = ensure_internal_topics(s, self.id)
        self.partitions = self.topics.partitions
        self.app = app = faust_app(s, self.partitions)
        self.sources = frozenset(f"{t}:{p}" for t in self.input_names for p in range(self.partitions))
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
        # identify: one task per assigned partition of <app>-ingest
        self.identities: dict[int, IdentityTask] = {}
        self.identify_acks = InOrderAcks()
        # decide: one engine per assigned partition of <app>-events
        self.engines: dict[int, PartitionEngine] = {}
        self.decide_acks = InOrderAcks()
        self.last_tick: dict[int, float] = {}

        self.ingest_topic = app.topic(self.topics.ingest, partitions=self.partitions, **RAW)
        self.events_topic = app.topic(self.topics.events, partitions=self.partitions, **RAW)
        # bytes → bytes: Faust then writes and restores the changelog raw (our codec is the format)
        self.identity_table = app.Table("identity", partitions=self.partitions, key_type=bytes, value_type=bytes)
        self.engine_table = app.Table("engine", partitions=self.partitions, key_type=bytes, value_type=bytes)
        app.task(_fail_fast(self._ingest_loop))
        app.agent(self.ingest_topic, name="identify", concurrency=1)(_fail_fast(self._identify_agent))
        app.agent(self.events_topic, name="decide", concurrency=1)(_fail_fast(self._decide_agent))
        app.timer(HEARTBEAT_S, name="heartbeat")(_fail_fast(self._heartbeat))
        app.timer(s.stats_every_s, name="stats")(self._log_stats)
        app.on_partitions_revoked.connect(self._on_revoked)  # type: ignore[arg-type]  # mode's signal typing

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

        batches: dict[int, IngestBatch] = {}
        read: set[TP] = set()
        away: RegistryUnavailable | None = None
        with self.serde.no_wait():  # an event loop must not sleep in a registry call
            for i, message in enumerate(messages):
                if message.error():
                    log.warning("input read error: %s", message.error())
                    continue
                topic, partition, _ = coordinates(message)
                tp = (topic, partition)
                before = (self.next_offset.get(tp), self.stats.consumed, self.stats.dead_letters)
                try:
                    event = self._accept(message)
                except RegistryUnavailable as exc:
                    self._not_accepted(tp, before)
                    self.reader.push_back(messages[i:])
                    away = exc
                    break
                read.add(tp)
                batch = batches.get(tp[1])
                if batch is None:
                    batch = batches[tp[1]] = IngestBatch()
                if event is not None:
                    batch.events.append(event)
        self._send_ingest(batches)
        self.writer.flush(timeout=None)
        self.reader.commit({tp: self.next_offset[tp] for tp in read})
        return away

    def _send_ingest(self, batches: dict[int, IngestBatch]) -> None:
        """Partition i of ``<app>-ingest`` gets input partition i of every input topic (they are
        co-partitioned), with those partitions' progress."""
        by_index: dict[int, Progress] = {}
        for (topic, p), report in self._progress().items():
            by_index.setdefault(p, {})[f"{topic}:{p}"] = report
        read_ms = int(time.time() * 1000)
        for index in sorted(by_index.keys() | batches.keys()):  # every assigned partition reports, busy or quiet
            batch = batches.get(index) or IngestBatch()
            batch.progress, batch.read_ms = by_index.get(index, {}), read_ms
            for record in batch.records():
                self.writer.send(self.topics.ingest, record, partition=index)
        self.last_report = time.monotonic()

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

    def _accept(self, message: Message) -> Event | None:
        topic, partition, offset = coordinates(message)
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
        return (at, f"{topic}:{partition}", offset, spec.name, fields_of(record))

    def _progress(self) -> dict[TP, tuple[int | None, int | None]]:
        return {
            tp: (self.newest.get(tp), self.reader.empty_at(tp, self.next_offset.get(tp)))
            for tp in sorted(self.reader.assigned)
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
            self._send_ingest({})

    # --- identify: engine key of every event (``streams.live.routing``) -----------------------------

    def _identity(self, partition: int) -> IdentityTask:
        task = self.identities.get(partition)
        if task is None:
            task = self.identities[partition] = IdentityTask.restore(
                partition,
                _TableChangelog(self.identity_table, self.writer),
                self.rules.fit.negatives.personal_email.normalised,
                frozenset(f"{topic}:{partition}" for topic in self.input_names),
                self.settings.partition_skew_ms,
                IDLE_WINDOWS * self.rules.window_days * DAY_MS,
            )
        return task

    async def _identify_agent(self, stream: Any) -> None:
        async for events in stream.take_events(500, within=0.01):
            async with self.lock:
                self._identify(events)

    def _take(self, events: list[Any], acks: InOrderAcks, receive: Callable[[Any, Held], int]) -> set[int]:
        """Hand each record to ``receive`` (which queues its events in a merge and returns how
        many); the record is acknowledged by ``acks`` once they are all done. Returns the
        partitions that got records."""
        partitions = set()
        for event in events:
            message = event.message
            self.next_offset[message.tp] = message.offset + 1
            held = acks.hold(event)
            held.remaining = receive(message, held)
            partitions.add(message.partition)
        return partitions

    def _identify(self, events: list[Any]) -> None:
        touched = self._take(
            events,
            self.identify_acks,
            lambda message, held: self._identity(message.partition).receive(IngestBatch.loads(message.value), held),
        )
        out: dict[int, RoutedBatch] = {p: RoutedBatch(read_ms=int(time.time() * 1000)) for p in range(self.partitions)}
        done: list[Held] = []
        progress: Progress = {}
        for partition in touched:
            task = self.identities[partition]
            routed, tokens = task.release(self.partitions)
            for p, batch_events in routed.items():
                out[p].events.extend(batch_events)
            progress.update(task.progress())
            done.extend(tokens)
            self.stats.routed += len(tokens)
        for p, batch in out.items():  # every engine partition hears every source's progress
            batch.progress = progress
            for record in batch.records():
                self.writer.send(self.topics.events, record, partition=p)
        # Routed records first, state after: state never runs ahead of what reached Kafka, so a
        # restart routes again from older state, which routes the same events the same way.
        self.writer.flush(timeout=None)
        for partition in touched:
            self.identities[partition].persist()
        self.writer.flush(timeout=None)
        self.identify_acks.done(done)
        self.identify_acks.ack_done()

    # --- decide: the engine, one per partition, behind its event-time merge ---------------------------

    def _engine(self, partition: int) -> PartitionEngine:
        pe = self.engines.get(partition)
        if pe is None:
            pe = self.engines[partition] = PartitionEngine.restore(
                partition, self.rules, _TableChangelog(self.engine_table, self.writer)
            )
            pe.listen(self.sources, self.settings.partition_skew_ms, self.partitions)
        return pe

    async def _decide_agent(self, stream: Any) -> None:
        async for events in stream.take_events(500, within=0.01):
            async with self.lock:
                self._decide(events)

    def _decide(self, events: list[Any]) -> None:
        self._take(
            events,
            self.decide_acks,
            lambda message, held: self._engine(message.partition).receive(RoutedBatch.loads(message.value), held),
        )
        done: list[Held] = []
        touched = []
        now = time.monotonic()
        for partition, pe in list(self.engines.items()):
            tick = None
            assert pe.merge is not None
            if pe.merge.all_idle and now - self.last_tick.get(partition, 0.0) >= TICK_S:
                # Caught up with every input: the SLA clocks now follow the wall clock (minus the
                # lateness we wait for), so a breach fires even when no further event arrives.
                self.last_tick[partition] = now
                tick = int(time.time() * 1000) - self.settings.lateness_ms
            too_old, repeats = pe.engine.too_old, pe.engine.repeats
            outputs, tokens = pe.release(tick)
            if not tokens and tick is None:
                continue
            touched.append(pe)
            self.stats.decided += len(tokens)
            self.stats.too_old += pe.engine.too_old - too_old  # the driver carries counts over an undo
            self.stats.repeats += pe.engine.repeats - repeats
            for record in outputs:
                self.writer.write(record)
                self.stats.count(record)
            done.extend(tokens)
        if not touched:
            self.decide_acks.ack_done()  # records that carried only progress
            return
        # Decisions first, state after: a crash in between reads the records again into the old
        # state, which repeats the same decisions (same ids) instead of losing them.
        self.writer.flush(timeout=None)
        for pe in touched:
            pe.persist()
        self.writer.flush(timeout=None)
        self.decide_acks.done(done)
        self.decide_acks.ack_done()

    # --- plumbing ------------------------------------------------------------------------------------

    def _assigned(self, topics: Any) -> list[Any]:
        try:
            assignment = self.app.consumer.assignment()
        except faust.exceptions.ConsumerNotStarted:
            return []  # starting or stopped
        return [tp for tp in assignment if tp.topic in topics]

    async def _on_revoked(self, sender: Any, revoked: Any, **_: Any) -> None:
        """Forget what another worker now owns; it rebuilds it from the changelogs."""
        self.identify_acks.forget(revoked)
        self.decide_acks.forget(revoked)
        for tp in revoked:
            if tp.topic == self.topics.events:
                self.engines.pop(tp.partition, None)
                self.last_tick.pop(tp.partition, None)
            elif tp.topic == self.topics.ingest:
                self.identities.pop(tp.partition, None)

    def _assigned_partitions(self, topic: str) -> list[int]:
        return sorted(tp.partition for tp in self._assigned((topic,)))

    def _merges(self) -> list[EventTimeMerge]:
        return [pe.merge for pe in self.engines.values() if pe.merge is not None] + [
            task.merge for task in self.identities.values()
        ]

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
            backlog=self._lag((self.topics.ingest, self.topics.events)),
            waiting=sum(m.pending for m in self._merges()),
            waiting_for=sorted({s for m in self._merges() for s in m.holding_back()}),
            inputs=sorted(f"{t}:{p}" for t, p in self.reader.assigned),
            identity=self._assigned_partitions(self.topics.ingest),
            partitions=self._assigned_partitions(self.topics.events),
            unknown_contacts=sum(pe.unknown_contacts for pe in self.engines.values()),
            held=len(self.reader.held),  # input records waiting for the registry
            **self.serde.health.fields(),
        )
        log.info("%s", orjson.dumps(line).decode())
