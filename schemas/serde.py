"""Value serde: Avro in the Confluent wire format against a schema registry, or JSON.

Wire format: magic byte 0, 4-byte big-endian schema id, Avro binary body. Writer schemas are
fetched from the registry by id (cached); the reader schema is our ``.avsc`` so that a producer on
an older or newer compatible schema still decodes.
"""

from __future__ import annotations

import io
import struct
from enum import StrEnum
from typing import Any, Protocol

import fastavro
import orjson

from schemas import avro, models

MAGIC = 0
_HEADER = struct.Struct(">bI")


class ValueFormat(StrEnum):
    avro = "avro"
    json = "json"
    auto = "auto"  # Avro when the payload starts with the wire-format magic byte, else JSON


class DecodeError(ValueError):
    """The bytes are not a decodable value; the message says why, for the dead-letter record."""


class SchemaRegistry(Protocol):
    """What the serde needs of a registry (confluent_kafka's SchemaRegistryClient fits)."""

    def register_schema(self, subject_name: str, schema: Any, normalize_schemas: bool = False) -> int: ...

    def get_schema(self, schema_id: int, *args: Any, **kwargs: Any) -> Any: ...


def subject_for(topic: str) -> str:
    """TopicNameStrategy, the Confluent default."""
    return f"{topic}-value"


class AvroSerde:
    """Encodes model records and decodes datums for one registry, caching ids and schemas."""

    def __init__(self, registry: SchemaRegistry) -> None:
        self._registry = registry
        self._ids: dict[tuple[str, str], int] = {}
        self._writers: dict[int, dict[str, Any]] = {}

    def schema_id(self, topic: str, avro_name: str) -> int:
        key = (topic, avro_name)
        if key not in self._ids:
            from confluent_kafka.schema_registry import Schema

            schema = Schema(avro.schema_json(avro_name), schema_type="AVRO")
            self._ids[key] = self._register(subject_for(topic), schema)
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
            try:
                registered = self._registry.get_schema(schema_id)
            except Exception as exc:  # the registry's own error says what is wrong
                raise DecodeError(f"unknown schema id {schema_id}: {exc}") from exc
            self._writers[schema_id] = fastavro.parse_schema(orjson.loads(registered.schema_str))
        return self._writers[schema_id]

    def decode(self, data: bytes, avro_name: str) -> dict[str, Any]:
        if len(data) < _HEADER.size or data[0] != MAGIC:
            raise DecodeError("not Confluent wire-format Avro (missing magic byte 0 + schema id)")
        _, schema_id = _HEADER.unpack_from(data)
        writer = self._writer_schema(schema_id)
        try:
            return fastavro.schemaless_reader(io.BytesIO(data[_HEADER.size :]), writer, avro.parsed_schema(avro_name))
        except Exception as exc:
            raise DecodeError(f"Avro body does not decode with schema id {schema_id}: {exc}") from exc


def decode_json(data: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"invalid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise DecodeError(f"JSON value must be an object, got {type(value).__name__}")
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
