"""Atomic batches of table writes on top of Faust's per-key changelog.

A batch changes many keys (a contact, its visitor, indexes, dedupe ids, clocks). Faust writes
one changelog record per key, so a worker killed with -9 part-way through would leave a batch
half-written: a contact updated but the event id that updated it not remembered, and the
redelivered event counted twice. So each batch is first written as a write-ahead entry (one
record, or a few numbered parts when large: only a complete entry counts), then key by key,
then every older entry is deleted. All of it goes to one changelog partition, in order, so a
complete entry means every earlier batch's keys are out too. On restore the key-by-key values
are read and the newest complete entry is replayed over them (idempotent): the state is exactly
"after the last batch whose entry reached Kafka". The next batch writes that entry's keys again
before it deletes the entry, since some of them may never have reached the changelog. Older
entries that survived a crash are never replayed (that would put back values later batches
changed) and are deleted by the next batch.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

Write = tuple[bytes, bytes | None]  # table key, value (None deletes)
_WAL = b"|~wal|"
PART_BYTES = 400_000
_FRAMED = b"\x01"  # a framed write-ahead record (JSON ones start with "{")
_COUNT = struct.Struct(">I")
_LENGTHS = struct.Struct(">Ii")


@dataclass
class Restored:
    """A partition as its changelog left it."""

    values: dict[bytes, bytes] = field(default_factory=dict)  # every key, newest complete batch applied
    next_seq: int = 0
    stale: list[bytes] = field(default_factory=list)  # write-ahead keys still present
    carry: list[Write] = field(default_factory=list)  # the replayed entry: written again by the next batch


class Changelog(Protocol):
    """A table's in-memory data and a way to append to its changelog partition."""

    @property
    def data(self) -> MutableMapping[bytes, bytes]: ...

    def send(self, partition: int, key: bytes, value: bytes | None) -> None: ...


class BatchLog:
    """Writes batches for one table partition; keys must start with ``prefix``. The caller makes
    them durable (flushes its producer) before it commits the input that caused them."""

    def __init__(self, table: Changelog, partition: int, prefix: bytes, restored: Restored | None = None) -> None:
        restored = restored or Restored()
        self.table = table
        self.partition = partition
        self.prefix = prefix
        self.next_seq = restored.next_seq
        self._stale = list(restored.stale)  # entries to delete once the next one's keys are out
        self._carry = list(restored.carry)

    def write(self, writes: Iterable[Write]) -> None:
        writes = [*self._carry, *writes]  # a later write of the same key wins, on restore too
        if not writes:
            return
        self._carry = []
        seq = self.next_seq
        self.next_seq += 1
        parts = _split(writes)
        entry = [self._wal_key(seq, i) for i in range(len(parts))]
        for key, part in zip(entry, parts, strict=True):
            self._send(key, _FRAMED + _COUNT.pack(len(parts)) + part)
        for key, value in writes:
            self._send(key, value)
        for key in self._stale:
            self._send(key, None)
        self._stale = entry

    def _wal_key(self, seq: int, part: int) -> bytes:
        return self.prefix + _WAL + f"{seq:012d}.{part:05d}".encode()

    def _send(self, key: bytes, value: bytes | None) -> None:
        if value is None:
            self.table.data.pop(key, None)
        else:
            self.table.data[key] = value
        self.table.send(self.partition, key, value)


def restore(data: Mapping[bytes, bytes], prefix: bytes) -> Restored:
    """The partition's keys as of its last complete batch (see the module docstring)."""
    restored = Restored()
    parts: dict[int, dict[int, Any]] = {}
    wal = prefix + _WAL
    for key, value in data.items():
        if not key.startswith(prefix) or value is None:
            continue
        if key.startswith(wal):
            seq, part = key[len(wal) :].split(b".")
            parts.setdefault(int(seq), {})[int(part)] = _unframe(value)
            restored.stale.append(key)
        else:
            restored.values[key] = value
    complete = [seq for seq, p in sorted(parts.items()) if len(p) == next(iter(p.values()))[0]]
    if complete:  # an incomplete entry never got as far as its key-by-key writes
        newest = parts[complete[-1]]
        for i in range(len(newest)):
            for written in newest[i][1]:
                restored.carry.append(written)
                if written[1] is None:
                    restored.values.pop(written[0], None)
                else:
                    restored.values[written[0]] = written[1]
    restored.next_seq = max(parts, default=-1) + 1
    restored.stale.sort()
    return restored


def _split(writes: list[Write]) -> list[bytes]:
    """The writes framed (key length, key, value length or -1 for a delete, value), in parts of at
    most ~PART_BYTES each: Kafka refuses records over 1 MB by default. Framing copies the bytes
    once; the JSON this replaced decoded, escaped and encoded every value again."""
    parts: list[list[bytes]] = [[]]
    size = 0
    for key, value in writes:
        frame = _LENGTHS.pack(len(key), -1 if value is None else len(value)) + key + (value or b"")
        if size + len(frame) > PART_BYTES and parts[-1]:
            parts.append([])
            size = 0
        parts[-1].append(frame)
        size += len(frame)
    return [b"".join(part) for part in parts]


def _unframe(value: bytes) -> tuple[int, list[Write]]:
    """(parts in the entry, this part's writes) of a write-ahead record, framed or (as older
    workers wrote them) JSON."""
    if value[:1] != _FRAMED:
        data = orjson.loads(value)
        return data["n"], [(k.encode(), v.encode() if v is not None else None) for k, v in data["w"]]
    (count,) = _COUNT.unpack_from(value, 1)
    at = 1 + _COUNT.size
    writes: list[Write] = []
    while at < len(value):
        key_len, value_len = _LENGTHS.unpack_from(value, at)
        at += _LENGTHS.size
        key = value[at : at + key_len]
        at += key_len
        if value_len < 0:
            writes.append((key, None))
        else:
            writes.append((key, value[at : at + value_len]))
            at += value_len
    return count, writes


def strip(values: Mapping[bytes, bytes], prefix: bytes) -> Iterator[tuple[str, bytes]]:
    """(key without the prefix, value) pairs."""
    n = len(prefix)
    for key, value in values.items():
        yield key[n:].decode(), value
