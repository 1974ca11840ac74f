"""One engine partition: ``processors.engine.Engine`` over state that lives in a changelogged table.

Events reach the partition from every identity task, each source in its own order; the
partition's event-time merge (``streams.live.merge``) releases them in replay's order, and
they are decided through ``processors.driver.Driver``, as in replay.

The engine's dicts are kept in memory and remember what each batch changed; after the batch,
each changed contact, visitor, account and index entry is written once to the table (and so to
its compacted changelog). A restarted or newly assigned worker rebuilds the partition from the
table Faust restored, and the SLA timers from the contacts' clocks.

Table keys are ``"<partition>|<kind>|<id>"``. Kinds: ``c`` contact, ``v`` visitor, ``a``
account, ``e``/``i``/``d``/``x`` the email, CRM id, domain and merge-alias indexes, ``o`` the
accounts this partition owns, ``s`` chunks of remembered event ids (dedupe), ``m`` the clocks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import orjson

from processors import codec
from processors.clock import DAY_MS
from processors.driver import Driver, Failure, TimedEvent
from processors.engine import Engine, Output, Store
from processors.rules import Rules
from schemas.catalog import BY_NAME
from schemas.models import InputEvent
from schemas.validation import dead_letter, trusted
from streams.live import durable
from streams.live.envelope import Role, Routed, RoutedBatch
from streams.live.merge import EventTimeMerge
from streams.live.routing import partition_of
from streams.live.tracking import ChangedKeys, TouchedKeys

Write = durable.Write
SEEN_CHUNK = 1_000  # ids per dedupe chunk; the open chunk is rewritten until full

_OBJECTS: dict[str, tuple[str, Callable[[Any], bytes], Callable[[bytes], Any]]] = {
    "c": ("contacts", codec.dump_contact, codec.load_contact),
    "v": ("visitors", codec.dump_visitor, codec.load_visitor),
    "a": ("accounts", codec.dump_account, codec.load_account),
}
_INDEXES = {"e": "emails", "i": "crm_ids", "d": "domains", "x": "aliases"}


def _new_store() -> Store:
    return Store(
        contacts=TouchedKeys(),
        visitors=TouchedKeys(),
        accounts=TouchedKeys(),
        emails=ChangedKeys(),
        crm_ids=ChangedKeys(),
        domains=ChangedKeys(),
        aliases=ChangedKeys(),
        seen=ChangedKeys(),
    )


@dataclass
class PartitionEngine:
    partition: int
    engine: Engine
    log: durable.BatchLog
    owned: set[str] = field(default_factory=set)
    _seen_chunks: dict[int, int] = field(default_factory=dict)  # chunk seq -> newest event time
    _next_chunk: int = 0
    _owned_changed: set[str] = field(default_factory=set)
    _open_chunk: list[tuple[str, int]] = field(default_factory=list)
    _last_sweep_written: int = 0
    driver: Driver | None = None
    _fed: list[TimedEvent] = field(default_factory=list)  # events decided since the last persist
    merge: EventTimeMerge | None = None  # set by ``listen``: the live run's ordering of its sources
    unknown_contacts: int = 0  # tracked visits naming a CRM contact no partition knows (counted once)
    partitions: int = 1

    # --- build ------------------------------------------------------------------------------------

    @classmethod
    def restore(cls, partition: int, rules: Rules, table: durable.Changelog) -> PartitionEngine:
        """The partition as its changelog left it after its last complete batch (empty if new)."""
        store = _new_store()
        prefix = f"{partition}|".encode()
        restored = durable.restore(table.data, prefix)
        chunks: list[tuple[int, bytes]] = []
        owned: set[str] = set()
        meta: dict[str, Any] = {}
        for rest, value in durable.strip(restored.values, prefix):
            kind, _, ident = rest.partition("|")
            if kind in _OBJECTS:
                attr, _, load = _OBJECTS[kind]
                dict.__setitem__(getattr(store, attr), ident, load(value))
            elif kind in _INDEXES:
                dict.__setitem__(getattr(store, _INDEXES[kind]), ident, value.decode())
            elif kind == "s":
                chunks.append((int(ident), value))
            elif kind == "o":
                owned.add(ident)
            elif kind == "m":
                meta = orjson.loads(value)
        pe = cls(partition, Engine(rules, store), durable.BatchLog(table, partition, prefix, restored), owned)
        for seq, value in sorted(chunks):
            entries = [(event_id, at) for event_id, at in orjson.loads(value)]
            seen = cast(dict[str, int], store.seen)  # a ChangedKeys: set without marking it changed
            for event_id, at in entries:
                dict.__setitem__(seen, event_id, at)
            pe._seen_chunks[seq] = max((at for _, at in entries), default=0)
            pe._open_chunk = entries if len(entries) < SEEN_CHUNK else []
            pe._next_chunk = seq if pe._open_chunk else seq + 1
        store.clock_ms = meta.get("clock_ms", 0)
        store.watermark_ms = meta.get("watermark_ms", 0)
        store.last_sweep_ms = meta.get("last_sweep_ms", 0)
        store.rebuild_timers(rules)
        pe._last_sweep_written = store.last_sweep_ms
        return pe

    # --- live: the merge in front of the engine ---------------------------------------------------

    def listen(self, sources: frozenset[str], skew_ms: int, partitions: int) -> None:
        """Order events of ``sources`` (every input partition) before deciding them."""
        self.merge = EventTimeMerge(sources, skew_ms)
        self.partitions = partitions

    def receive(self, batch: RoutedBatch, token: Any) -> int:
        """Queue a batch's events (``token`` comes back with each) and note its progress; returns
        how many events it queued."""
        merge = self.merge
        assert merge is not None, "listen() first"
        for source, (newest, empty_at) in batch.progress.items():
            merge.report(source, newest, empty_at)
        for event in batch.events:
            merge.add(event, token, batch.read_ms)
        return len(batch.events)

    def release(self, tick_ms: int | None = None) -> tuple[list[Output], list[Any]]:
        """Decide every event the merge lets go, in its order; returns the outputs and the tokens
        of the events decided (in release order)."""
        assert self.merge is not None, "listen() first"
        events: list[Routed] = []
        tokens: list[Any] = []
        for event, token in self.merge.release():
            events.append(event)
            tokens.append(token)
        return (self.decide(events, tick_ms) if events or tick_ms is not None else []), tokens

    # --- work -------------------------------------------------------------------------------------

    def decide(self, events: list[Routed], tick_ms: int | None = None) -> list[Output]:
        """Decide events in order, then advance the SLA clocks to ``tick_ms``; returns every output
        record, state views last. An event whose decision fails is dead-lettered and leaves the
        partition's state as before it."""
        driver = self._driver()
        out: list[Output] = []
        for at, source, offset, stream, fields, role in events:
            if role and role[0] == Role.IF_KNOWN and not self._lives_here(role[1:]):
                continue
            event: InputEvent = trusted(BY_NAME[stream].model, fields, at)  # type: ignore[arg-type,assignment]
            decided = driver.feed(event, at)
            self._fed.append((at, event))
            if type(decided) is Failure:
                topic, _, partition = source.rpartition(":")
                out.append(dead_letter(topic, f"{partition}:{offset}", decided.reason, orjson.dumps(fields)))
                continue
            out.extend(decided)  # type: ignore[arg-type]
            if role == Role.OWN:
                account_id = fields.get("account_id") or ""
                if account_id not in self.owned:
                    self.owned.add(account_id)
                    self._owned_changed.add(account_id)
        if tick_ms is not None:
            out.extend(driver.advance(tick_ms))
        # A replica of another partition's account: its state record is written by its owner.
        driver.engine.changed_accounts &= self.owned
        out.extend(driver.drain())
        return out

    def _lives_here(self, contact_id: str) -> bool:
        if contact_id in self.engine.store.crm_ids:
            return True
        if partition_of(f"c:{contact_id}", self.partitions) == self.partition:
            self.unknown_contacts += 1
        return False

    def persist(self) -> None:
        """Write what the last batches changed, atomically (see ``streams.live.durable``); the
        table then is the checkpoint a failed decision is undone from."""
        self.log.write(self.writes())
        self._fed.clear()
        self._driver().rebase()

    # --- the driver's checkpoint: the table as the last persist left it ------------------------------

    def _driver(self) -> Driver:
        if self.driver is None:
            self.driver = Driver(self.engine, self)
        return self.driver

    def rebuild(self) -> Engine:
        """The partition as stored (before the batches since the last persist); which accounts it
        owns only grows, and an event that fails never adds one, so that set is kept."""
        fresh = PartitionEngine.restore(self.partition, self.engine.rules, self.log.table)
        self.engine, self.log = fresh.engine, fresh.log
        self._seen_chunks, self._next_chunk = fresh._seen_chunks, fresh._next_chunk
        self._open_chunk, self._last_sweep_written = fresh._open_chunk, fresh._last_sweep_written
        return self.engine

    def events_since(self, count: int) -> list[TimedEvent]:
        return self._fed[:count]

    def writes(self) -> list[Write]:
        """Changed state since the last call, as table writes."""
        store = self.engine.store
        p = self.partition
        out: list[Write] = []
        swept = store.last_sweep_ms != self._last_sweep_written
        for kind, (attr, dump, _) in _OBJECTS.items():
            mapping: TouchedKeys = getattr(store, attr)
            keys = set(mapping) | mapping.changed if swept else mapping.changed
            for key in keys:
                obj = dict.get(mapping, key)
                out.append((f"{p}|{kind}|{key}".encode(), dump(obj) if obj is not None else None))
            mapping.take_changed()
        for kind, attr in _INDEXES.items():
            index: ChangedKeys = getattr(store, attr)
            for key in index.take_changed():
                value = dict.get(index, key)
                out.append((f"{p}|{kind}|{key}".encode(), value.encode() if value is not None else None))
        for account_id in self._owned_changed:
            out.append((f"{p}|o|{account_id}".encode(), b"1"))
        self._owned_changed.clear()
        out.extend(self._seen_writes(store, swept))
        if swept:
            self._last_sweep_written = store.last_sweep_ms
        meta = {"clock_ms": store.clock_ms, "watermark_ms": store.watermark_ms, "last_sweep_ms": store.last_sweep_ms}
        out.append((f"{p}|m|".encode(), orjson.dumps(meta)))
        return out

    def _seen_writes(self, store: Store, swept: bool) -> Iterable[Write]:
        seen: ChangedKeys = store.seen  # type: ignore[assignment]
        added: list[tuple[str, int]] = [(k, dict.__getitem__(seen, k)) for k in seen.take_changed() if k in seen]
        p = self.partition
        while added:
            room = SEEN_CHUNK - len(self._open_chunk)
            self._open_chunk.extend(added[:room])
            added = added[room:]
            seq = self._next_chunk
            self._seen_chunks[seq] = max(at for _, at in self._open_chunk)
            yield f"{p}|s|{seq:012d}".encode(), orjson.dumps(self._open_chunk)
            if len(self._open_chunk) >= SEEN_CHUNK:
                self._open_chunk = []
                self._next_chunk += 1
        if swept:
            horizon = store.watermark_ms - self.engine.rules.dedupe.horizon_days * DAY_MS
            for seq in [s for s, newest in self._seen_chunks.items() if newest < horizon and s != self._next_chunk]:
                del self._seen_chunks[seq]
                yield f"{p}|s|{seq:012d}".encode(), None
