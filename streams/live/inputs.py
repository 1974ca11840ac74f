"""The input topics, read by a plain confluent-kafka consumer instead of a Faust agent.

Faust hands every record to an asyncio agent one at a time; a bare counting agent peaked near
7,000 records/s here, far below what the engine decides. Inputs are the only per-event
records in the live runtime (the internal hops carry batches), so they are read in C batches
by their own consumer group, ``<app>-inputs``, and Faust keeps the batched internal topics and
the tables. The reader is polled from the event loop and never waits there for records.

Offsets are committed only after the ingest records built from them are in Kafka, so a crash
re-reads them (at-least-once; the router and the engine drop what they have already seen).

Records the ingest cannot decode yet (the schema registry is away) are given back with
``push_back``: ``poll`` returns them first, in order, once the caller is ready, and meanwhile the
partitions are paused (librdkafka fetches nothing more, and resumes after the last record handed
out) while ``keep_alive`` still polls the consumer, so it stays in its group however long the wait.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from streams.settings import Settings

log = logging.getLogger("leadstream.worker")
TP = tuple[str, int]
FETCH_WAIT_MS = 100  # librdkafka's long-poll when a partition has nothing new
# A partition's "fully read at time t" claim (``streams.live.merge``) rests on a high watermark
# asked of the broker at t, by a background thread, for all assigned partitions at once:
ASK_EVERY_S = 0.1
CLOSE_TIMEOUT_S = 10.0


class InputReader:
    """One worker's share of the input partitions (cooperative-sticky assignment)."""

    def __init__(
        self, settings: Settings, group: str, topics: list[str], on_revoked: Callable[[list[TP]], None]
    ) -> None:
        self.on_revoked = on_revoked
        self.consumer = Consumer(
            settings.kafka_config(
                **{
                    "group.id": group,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "partition.assignment.strategy": "cooperative-sticky",
                    "fetch.wait.max.ms": FETCH_WAIT_MS,
                    # A killed worker's partitions move after this long.
                    "session.timeout.ms": 10_000,
                    "heartbeat.interval.ms": 1_000,
                }
            )
        )
        self.assigned: set[TP] = set()
        self.start: dict[TP, int] = {}  # where each partition started: its committed offset
        self.asked: dict[TP, tuple[int, int]] = {}  # (wall ms when asked, high watermark the broker gave)
        self.held: list[Message] = []  # given back by push_back: handed out again first, in order
        self._paused: set[TP] = set()
        self.consumer.subscribe(topics, on_assign=self._assign, on_revoke=self._revoke, on_lost=self._revoke)
        self._admin = AdminClient(settings.kafka_config())
        self._closed = threading.Event()
        threading.Thread(target=self._ask_broker, name="input-watermarks", daemon=True).start()

    def _ask_broker(self) -> None:
        """Every ``ASK_EVERY_S``: the high watermark of each assigned partition, dated when asked.
        Off the event loop; while the broker does not answer, nothing new is claimed."""
        while not self._closed.wait(ASK_EVERY_S):
            tps = list(self.assigned)
            if not tps:
                continue
            asked_at = int(time.time() * 1000)
            try:
                futures = self._admin.list_offsets({TopicPartition(*tp): OffsetSpec.latest() for tp in tps})
                answers = {(k.topic, k.partition): f.result(timeout=5).offset for k, f in futures.items()}
            except Exception:  # the broker is away (a restart): ask again next round
                self._refresh_metadata()
                continue
            for tp, high in answers.items():
                self.asked[tp] = (asked_at, high)

    def _refresh_metadata(self) -> None:
        """After a broker restart librdkafka's admin client keeps sending the old leader epoch and
        every ``list_offsets`` fails with FENCED_LEADER_EPOCH until its metadata is refreshed (the
        Java client had the same bug, KAFKA-9535); ``list_topics`` refreshes it. Without this no
        input partition is ever claimed fully read again, and events wait in the merges for ever."""
        with contextlib.suppress(Exception):  # still away: the next round asks again
            self._admin.list_topics(timeout=5)

    def _assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        self.assigned.update(tps)
        for tp in tps:
            self.start.pop(tp, None)

    def _revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        self.assigned.difference_update(tps)
        gone = set(tps)
        # Held records of a partition that moves are not ours to hand on: its new reader starts
        # from the committed offset, which never passed them.
        self.held = [m for m in self.held if (m.topic(), m.partition()) not in gone]
        self._paused -= gone
        self.on_revoked(tps)

    def poll(self, max_records: int) -> list[Message]:
        """What librdkafka has fetched already, up to ``max_records``; never waits. Records given
        back by ``push_back`` come first; the partitions resume once they are all handed out."""
        if not self.held:
            if self._paused:  # kept alive while waiting, with nothing fetched yet to hold
                self._resume()
            return self.consumer.consume(max_records, timeout=0)
        self.keep_alive()
        out, self.held = self.held[:max_records], self.held[max_records:]
        if not self.held:
            self._resume()
        return out

    def push_back(self, messages: list[Message]) -> None:
        """Records not handled yet, to be handed out again first, in their order; the assigned
        partitions are paused meanwhile, so nothing more is fetched into memory."""
        if not messages:
            return
        self.held[:0] = messages
        self._pause()

    def keep_alive(self) -> None:
        """Poll the consumer while records are held: it stays in its group (max.poll.interval.ms)
        and runs rebalance callbacks. Paused partitions give nothing new; whatever librdkafka had
        already queued (or a newly assigned partition gives) goes behind the held records."""
        self.held.extend(self.consumer.consume(1000, timeout=0))
        self._pause()  # partitions assigned meanwhile too

    def _pause(self) -> None:
        tps = self.assigned - self._paused
        if tps:
            try:
                self.consumer.pause([TopicPartition(*tp) for tp in sorted(tps)])
            except KafkaException as exc:  # a partition moved meanwhile: the held order stands anyway
                log.warning("input partitions not paused: %s", exc)
            self._paused |= tps

    def _resume(self) -> None:
        tps, self._paused = self._paused & self.assigned, set()
        if tps:
            try:
                self.consumer.resume([TopicPartition(*tp) for tp in sorted(tps)])
            except KafkaException as exc:
                log.warning("input partitions not resumed: %s", exc)

    def commit(self, next_offsets: dict[TP, int], wait: bool = False) -> None:
        """Asynchronous unless ``wait``: a lost commit only means a few records are read (and
        dropped) again."""
        if not next_offsets:
            return
        offsets = [TopicPartition(t, p, o) for (t, p), o in next_offsets.items()]
        try:
            if wait:
                self.consumer.commit(offsets=offsets, asynchronous=False)
            else:
                self.consumer.commit(offsets=offsets, asynchronous=True)
        except KafkaException as exc:  # e.g. the group moved on while we were leaving it
            log.warning("input offsets not committed (they will be read again): %s", exc)

    def empty_at(self, tp: TP, next_offset: int | None) -> int | None:
        """Wall time (ms) by which the partition was seen fully read, or None if it has records left.

        librdkafka's cached high watermark says cheaply whether records are left, but not how old
        it is (its fetcher thread may be starved of CPU). So the claim rests on the broker's answer
        to ``_ask_broker``, dated when the question was sent.
        """
        _, high = self.consumer.get_watermark_offsets(TopicPartition(*tp), cached=True)
        if high is None or high < 0:
            return None
        if next_offset is None:  # nothing read since assignment: where did it start?
            next_offset = self._start(tp)
            if next_offset is None:
                return None
        if next_offset < high:
            return None
        asked = self.asked.get(tp)
        return asked[0] if asked is not None and next_offset >= asked[1] else None

    def _start(self, tp: TP) -> int | None:
        """The partition's committed offset (or its first one); None while the broker cannot say."""
        if tp not in self.start:
            try:
                committed = self.consumer.committed([TopicPartition(*tp)], timeout=5)[0].offset
                if committed == OFFSET_INVALID or committed < 0:
                    committed = self.consumer.get_watermark_offsets(TopicPartition(*tp), timeout=5)[0]
            except KafkaException:
                return None
            self.start[tp] = committed
        return self.start[tp]

    def lag(self, next_offsets: dict[TP, int]) -> int:
        if self._closed.is_set():  # the consumer is gone (or going): nothing to ask it
            return 0
        lag = 0
        for tp in self.assigned:
            _, high = self.consumer.get_watermark_offsets(TopicPartition(*tp), cached=True)
            if high is not None and high >= 0 and tp in next_offsets:
                lag += max(0, high - next_offsets[tp])
        return lag

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """Leave the group (its partitions move at once). librdkafka's close can hang when the
        group is rebalancing as the worker stops (seen in the scale test): after ``timeout_s``
        the worker goes on stopping, and the group drops it after its session timeout instead."""
        self._closed.set()
        done = threading.Thread(target=self._close, name="input-close", daemon=True)
        done.start()
        done.join(timeout_s)
        if done.is_alive():
            log.warning("input reader did not close within %.0f s; the group will drop it", timeout_s)

    def _close(self) -> None:
        try:
            self.consumer.close()
        except KafkaException as exc:  # its final commit: as above, only means reading again
            log.warning("input reader closed with: %s", exc)
