"""Atomic batches of table writes on top of Faust's per-key changelog.

A batch changes many keys (a contact, its visitor, indexes, dedupe ids, clocks). Faust writes
one changelog record per key, so a worker killed with -9 part-way through would leave a batch
half-written: a contact updated but the event id that updated it not remembered, and the
redelivered event counted twice. So each batch is first written as a write-ahead entry (one
record, or a few numbered parts when large: only a complete entry counts), then key by key;
the previous entry is deleted once a newer one is out (everything it covered was written
before the newer entry, in the same partition). On restore the key-by-key values are read and
the surviving complete entries replayed over them, which is idempotent: the state is exactly
"after the last batch whose entry reached Kafka".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

Write = tuple[bytes, bytes | None]  # table key, value (None deletes)
_WAL = b"|~wal|"
PART_BYTES = 400_000


class BatchLog:
    """Writes batches for one table partition; keys must start with ``prefix``."""

    def __init__(self, table: Any, partition: int, prefix: bytes, next_seq: int = 0, previous_parts: int = 0) -> None:
        self.table = table
        self.partition = partition
        self.prefix = prefix
        self.next_seq = next_seq
        self._previous_parts = previous_parts

    def write(self, writes: Iterable[Write]) -> None:
        writes = list(writes)
        if not writes:
            return
        seq = self.next_seq
        self.next_seq += 1
        parts = _split([[k.decode(), v.decode() if v is not None else None] for k, v in writes])
        for i, part in enumerate(parts):
            self._send(self._wal_key(seq, i), orjson.dumps({"n": len(parts), "w": part}))
        for key, value in writes:
            self._send(key, value)
        for i in range(self._previous_parts):
            self._send(self._wal_key(seq - 1, i), None)
        self._previous_parts = len(parts)

    def _wal_key(self, seq: int, part: int) -> bytes:
        return self.prefix + _WAL + f"{seq:012d}.{part:05d}".encode()

    def _send(self, key: bytes, value: bytes | None) -> None:
        if value is None:
            self.table.data.pop(key, None)
        else:
            self.table.data[key] = value
        self.table.send_changelog(self.partition, key, value, key_serializer="raw", value_serializer="raw")


def restore(data: Mapping[bytes, bytes], prefix: bytes) -> tuple[dict[bytes, bytes], int, int]:
    """The partition's keys as of its last complete batch, the next batch number, and how many
    parts the surviving entry has (so the next batch can delete it)."""
    values: dict[bytes, bytes] = {}
    parts: dict[int, dict[int, Any]] = {}
    wal = prefix + _WAL
    for key, value in data.items():
        if not key.startswith(prefix) or value is None:
            continue
        if key.startswith(wal):
            seq, part = key[len(wal) :].split(b".")
            parts.setdefault(int(seq), {})[int(part)] = orjson.loads(value)
        else:
            values[key] = value
    complete = [seq for seq, p in sorted(parts.items()) if len(p) == next(iter(p.values()))["n"]]
    for seq in complete:  # an incomplete entry never got as far as its key-by-key writes
        for i in range(len(parts[seq])):
            for k, v in parts[seq][i]["w"]:
                if v is None:
                    values.pop(k.encode(), None)
                else:
                    values[k.encode()] = v.encode()
    last = max(parts, default=-1)
    return values, last + 1, len(parts.get(last, {}))


def _split(entries: list[list[Any]]) -> list[list[list[Any]]]:
    """Parts of at most ~PART_BYTES each: Kafka refuses records over 1 MB by default."""
    parts: list[list[list[Any]]] = [[]]
    size = 0
    for entry in entries:
        n = len(entry[0]) + len(entry[1] or "") + 8
        if size + n > PART_BYTES and parts[-1]:
            parts.append([])
            size = 0
        parts[-1].append(entry)
        size += n
    return parts


def strip(values: Mapping[bytes, bytes], prefix: bytes) -> Iterator[tuple[str, bytes]]:
    """(key without the prefix, value) pairs."""
    n = len(prefix)
    for key, value in values.items():
        yield key[n:].decode(), value
