"""Turns a raw input value into a contract model, or into a dead-letter record with a clear reason.

One function for Kafka (position ``partition:offset``) and files (``line N``), so live and replay
reject exactly the same inputs with the same words.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from schemas import models
from schemas.catalog import StreamSpec
from schemas.serde import AvroSerde, DecodeError, ValueFormat, decode_value


def describe(exc: ValidationError) -> str:
    """One line per problem, naming the field: what an operator reading the dead letter needs."""
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "value"
        got = err.get("input")
        shown = repr(got) if not isinstance(got, dict) else "{…}"
        if err["type"] == "missing":
            parts.append(f"{where}: required field is missing")
        else:
            parts.append(f"{where}: {err['msg']} (got {shown[:80]})")
    return "; ".join(parts)


def validate(spec: StreamSpec, datum: dict[str, Any]) -> models.Record:
    """Datum → model; raises ValueError with a readable message."""
    try:
        return spec.model.model_validate(datum)
    except ValidationError as exc:
        raise ValueError(f"{spec.avro_name}: {describe(exc)}") from None


def dead_letter(topic: str, position: str, error: str, raw: bytes, key: bytes | None = None) -> models.DeadLetter:
    return models.DeadLetter(source_topic=topic, position=position, error=error, raw=raw, key=key)


def accept(
    spec: StreamSpec,
    topic: str,
    position: str,
    raw: bytes | None,
    fmt: ValueFormat,
    serde: AvroSerde | None,
    key: bytes | None = None,
) -> models.Record | models.DeadLetter:
    """Decode + validate one input value; any failure becomes a DeadLetter, never an exception."""
    try:
        return validate(spec, decode_value(raw, fmt, spec.avro_name, serde))
    except (DecodeError, ValueError) as exc:
        return dead_letter(topic, position, str(exc), raw or b"", key)
