"""Value serde: Avro in the Confluent wire format against a schema registry, or JSON.

Wire format: magic byte 0, 4-byte big-endian schema id, Avro binary body. Writer schemas are
fetched from the registry by id (cached); the reader schema is our ``.avsc`` so that a producer on
an older or newer compatible schema still decodes.

A registry that is away (refused, timed out, 5xx, 429) says nothing about a record, so it never
turns one into a dead letter: the serde waits for it (``RegistryHealth`` keeps the log and the
stats honest), or, inside ``no_wait()``, raises ``RegistryUnavailable`` for a caller that waits
on its own terms (the live ingest, which must not block its event loop). Only the registry's
answer "no such schema id" (HTTP 404, error code 40403) makes a record undecodable.
"""

from __future__ import annotations

import contextlib
import io
import logging
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar, cast

import fastavro
import orjson

from schemas import avro, models

MAGIC = 0
_HEADER = struct.Struct(">bI")
SCHEMA_NOT_FOUND = 40403  # Confluent error code: the registry has no schema with that id
AWAY_STATUS = frozenset({408, 429})  # and every 5xx: the registry cannot answer right now
BACKOFF_FIRST_S = 0.5
BACKOFF_CAP_S = 10.0
log = logging.getLogger("leadstream.registry")
T = TypeVar("T")


class ValueFormat(StrEnum):
    avro = "avro"
    json = "json"
    auto = "auto"  # Avro when the payload starts with the wire-format magic byte, else JSON


class DecodeError(ValueError):
    """The bytes are not a decodable value; the message says why, for the dead-letter record."""


class RegistryUnavailable(Exception):  # not a ValueError: validation must never dead-letter it
    """The registry could not be asked (away, overloaded); the record is not at fault.

    ``retry`` makes the same registry call once more (no waiting; raises this again while the
    registry is still away), so a caller can wait with its own backoff, e.g. off its event loop.
    """

    def __init__(self, what: str, reason: str, retry: Callable[[], object]) -> None:
        super().__init__(f"schema registry unavailable ({what}): {reason}")
        self.what = what
        self.reason = reason
        self.retry = retry


def unavailable_reason(exc: BaseException, lookup: bool = False) -> str | None:
    """Why ``exc`` means "the registry is away" (connection, timeout, HTTP 5xx / 408 / 429), or
    None when the registry did answer (a 409, a 422 are answers). For a ``lookup`` of a writer
    schema by id every answer but "no such id" counts as away too: a 401 or a proxy's bare 404
    says nothing about the record, and dead-lettering valid records for it would lose them."""
    from confluent_kafka.schema_registry.common._httpx_compat import httpx
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    if isinstance(exc, SchemaRegistryError):
        status = exc.http_status_code
        if status in AWAY_STATUS or status >= 500 or (lookup and not not_found(exc)):
            return str(exc)
        return None
    if isinstance(exc, httpx.TransportError | OSError):  # refused, reset, DNS, connect/read timeout
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return None


def not_found(exc: BaseException) -> bool:
    """The registry's own answer that the schema id does not exist (HTTP 404, code 40403)."""
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    return isinstance(exc, SchemaRegistryError) and exc.http_status_code == 404 and exc.error_code == SCHEMA_NOT_FOUND


@dataclass
class RegistryHealth:
    """Whether the registry is being waited for, for the log (one warning when a wait starts, one
    info when it ends, never one per retry) and the stats line. Thread-safe: the live ingest
    retries from a worker thread."""

    waiting_since: float | None = None
    waits: int = 0  # outages waited out (or being waited out) since start
    waited_s: float = 0.0  # in finished waits
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def state(self) -> str:
        return "waiting" if self.waiting_since is not None else "ok"

    def away(self, what: str, reason: str) -> None:
        with self._lock:
            if self.waiting_since is not None:
                return
            self.waiting_since = time.monotonic()
            self.waits += 1
        log.warning(
            "schema registry unavailable (%s: %s); waiting for it with backoff, no record is dead-lettered for it",
            what,
            reason[:300],
        )

    def back(self) -> None:
        with self._lock:
            if self.waiting_since is None:
                return
            took = time.monotonic() - self.waiting_since
            self.waiting_since = None
            self.waited_s += took
        log.info("schema registry is back after %.1f s of waiting", took)

    def fields(self) -> dict[str, Any]:
        """For the stats line."""
        return {"registry": self.state, "registry_waits": self.waits}


@dataclass(frozen=True)
class Backoff:
    """Delays between attempts while the registry is away: doubling from ``first_s`` to ``cap_s``."""

    first_s: float = BACKOFF_FIRST_S
    cap_s: float = BACKOFF_CAP_S

    def delays(self) -> Iterator[float]:
        delay = self.first_s
        while True:
            yield delay
            delay = min(delay * 2, self.cap_s)


class SchemaRegistry(Protocol):
    """What the serde needs of a registry (confluent_kafka's SchemaRegistryClient fits)."""

    def register_schema(self, subject_name: str, schema: Any, normalize_schemas: bool = False) -> int: ...

    def lookup_schema(self, subject_name: str, schema: Any, *args: Any, **kwargs: Any) -> Any: ...

    def get_schema(self, schema_id: int, *args: Any, **kwargs: Any) -> Any: ...


def subject_for(topic: str) -> str:
    """TopicNameStrategy, the Confluent default."""
    return f"{topic}-value"


class AvroSerde:
    """Encodes model records and decodes datums for one registry, caching ids and schemas.

    While the registry is away a call waits (``backoff``, logged through ``health``) unless made
    inside ``no_wait()``, where it raises ``RegistryUnavailable`` instead.
    """

    def __init__(
        self,
        registry: SchemaRegistry,
        health: RegistryHealth | None = None,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._registry = registry
        self._ids: dict[tuple[str, str], int] = {}
        self._writers: dict[int, dict[str, Any]] = {}
        self.health = health or RegistryHealth()
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._mode = threading.local()  # per thread: the live worker's event loop never waits, a helper thread may

    @contextlib.contextmanager
    def no_wait(self) -> Iterator[None]:
        """In this thread, raise ``RegistryUnavailable`` rather than wait: for a caller on an event loop."""
        before = getattr(self._mode, "no_wait", False)
        self._mode.no_wait = True
        try:
            yield
        finally:
            self._mode.no_wait = before

    def _ask(self, what: str, call: Callable[[], T], lookup: bool = False) -> T:
        """``call`` once; an outage becomes ``RegistryUnavailable`` (with a retry of this)."""
        try:
            result = call()
        except Exception as exc:
            reason = unavailable_reason(exc, lookup)
            if reason is None:
                raise
            self.health.away(what, reason)
            raise RegistryUnavailable(what, reason, lambda: self._ask(what, call, lookup)) from exc
        self.health.back()
        return result

    def _call(self, what: str, call: Callable[[], T], lookup: bool = False) -> T:
        """``call``, waiting out an outage with backoff (or raising inside ``no_wait()``)."""
        delays = self.backoff.delays()
        while True:
            try:
                return self._ask(what, call, lookup)
            except RegistryUnavailable:
                if getattr(self._mode, "no_wait", False):
                    raise
                self._sleep(next(delays))

    def schema_id(self, topic: str, avro_name: str) -> int:
        key = (topic, avro_name)
        if key not in self._ids:
            from confluent_kafka.schema_registry import Schema

            schema = Schema(avro.schema_json(avro_name), schema_type="AVRO")
            subject = subject_for(topic)
            self._ids[key] = self._call(f"registering {subject}", lambda: self._register(subject, schema))
        return self._ids[key]

    def _register(self, subject: str, schema: Any) -> int:
        """Register (idempotent), or find the id when another process registered it first: two
        workers starting together both register, and Apicurio answers the loser 409."""
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        try:
            return int(self._registry.register_schema(subject, schema))
        except SchemaRegistryError as exc:
            if exc.http_status_code != 409:
                raise
            return int(self._registry.lookup_schema(subject, schema).schema_id)

    def encode(self, topic: str, record: models.Record) -> bytes:
        return self.encode_datum(topic, record.avro_name, avro.to_datum(record))

    def encode_datum(self, topic: str, avro_name: str, datum: dict[str, Any]) -> bytes:
        out = io.BytesIO()
        out.write(_HEADER.pack(MAGIC, self.schema_id(topic, avro_name)))
        fastavro.schemaless_writer(out, avro.parsed_schema(avro_name), datum)
        return out.getvalue()

    def _writer_schema(self, schema_id: int) -> dict[str, Any]:
        if schema_id not in self._writers:
            self._writers[schema_id] = self._call(
                f"fetching schema id {schema_id}", lambda: self._fetch(schema_id), lookup=True
            )
        return self._writers[schema_id]

    def _fetch(self, schema_id: int) -> dict[str, Any]:
        """The writer schema; DecodeError only on the registry's own "no such id" (the record is
        bad), never because the registry could not be asked."""
        try:
            registered = self._registry.get_schema(schema_id)
        except Exception as exc:
            if not_found(exc):
                raise DecodeError(f"unknown schema id {schema_id}: {exc}") from exc
            raise
        try:
            # A record schema parses to a dict; the reader schema below rejects any other kind.
            return cast(dict[str, Any], fastavro.parse_schema(orjson.loads(registered.schema_str)))
        except Exception as exc:
            raise DecodeError(f"schema id {schema_id} is not a usable Avro schema: {exc}") from exc

    def decode(self, data: bytes, avro_name: str) -> dict[str, Any]:
        if len(data) < _HEADER.size or data[0] != MAGIC:
            raise DecodeError("not Confluent wire-format Avro (missing magic byte 0 + schema id)")
        _, schema_id = _HEADER.unpack_from(data)
        writer = self._writer_schema(schema_id)
        try:
            datum = fastavro.schemaless_reader(io.BytesIO(data[_HEADER.size :]), writer, avro.parsed_schema(avro_name))
            return cast(dict[str, Any], datum)  # the reader schema is a record: its datum is a dict
        except Exception as exc:
            raise DecodeError(f"Avro body does not decode with schema id {schema_id}: {exc}") from exc


def decode_json(data: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"invalid JSON: {exc}") from exc
    if not isinstance(value, dict):
        kind = {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")
        raise DecodeError(f"JSON value must be an object, got {kind}")
    return value


def encode_json(record: models.Record) -> bytes:
    return orjson.dumps(record.model_dump(mode="json"))


def decode_value(data: bytes | None, fmt: ValueFormat, avro_name: str, serde: AvroSerde | None) -> dict[str, Any]:
    """Bytes → datum dict in the topic's configured format; raises DecodeError."""
    if data is None:
        raise DecodeError("empty value (tombstone) on an input topic")
    if fmt is ValueFormat.auto:
        fmt = ValueFormat.avro if data[:1] == b"\x00" else ValueFormat.json
    if fmt is ValueFormat.json:
        return decode_json(data)
    if serde is None:
        raise DecodeError("Avro value but no schema registry is configured")
    return serde.decode(data, avro_name)
