"""Turns a raw input value into a contract model, or into a dead-letter record with a clear reason.

One function for Kafka (position ``partition:offset``) and files (``line N``), so live, replay and
backtest reject exactly the same inputs with the same words. The value rules themselves are in
``schemas.policy``; this module adds the one rule that needs a reference clock: an event
implausibly far ahead of it is refused, so it can never move an event-time clock.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from pydantic import ValidationError

from schemas import models
from schemas.catalog import StreamSpec
from schemas.policy import to_ms
from schemas.redaction import shown
from schemas.serde import AvroSerde, DecodeError, ValueFormat, decode_value

MAX_FUTURE_MS = 300_000  # default of ``LEADSTREAM_MAX_FUTURE_S``: below the shortest SLA tier (15 min)


def describe(exc: ValidationError) -> str:
    """One line per problem, naming the field: what an operator reading the dead letter needs."""
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "missing":
            parts.append(f"{where}: required field is missing")
        elif err["type"] == "value_error":  # our own rules (schemas.policy) quote the value already
            message = str(err.get("ctx", {}).get("error", err["msg"]))
            parts.append(f"{where}: {message}" if where else message)
        else:
            got = err.get("input")
            quoted = shown(got) if not isinstance(got, dict) else "{…}"
            parts.append(f"{where or 'value'}: {err['msg']} (got {quoted})")
    return "; ".join(parts)


def validate(spec: StreamSpec, datum: dict[str, Any]) -> models.Record:
    """Datum → model; raises ValueError with a readable message."""
    try:
        return spec.model.model_validate(datum)
    except ValidationError as exc:
        raise ValueError(f"{spec.avro_name}: {describe(exc)}") from None


def too_far_ahead(at_ms: int, reference_ms: int | None, max_future_ms: int) -> str | None:
    """Why an event dated ``at_ms`` is refused against the reference clock, or None if it is not.

    Device clocks on the web are wrong every day; one event dated 2099 must not carry the
    event-time clock (and every SLA deadline, and the dedupe horizon) with it.
    """
    if reference_ms is None or at_ms <= reference_ms + max_future_ms:
        return None
    from processors.clock import from_ms  # the exact ms → datetime used for outputs

    return (
        f"occurred_at: {from_ms(at_ms).isoformat()} is ahead of the clock by more than the"
        f" {max_future_ms // 1000} s allowed (LEADSTREAM_MAX_FUTURE_S)"
    )


def reference_ms(record_timestamp_ms: int | None, wall_ms: int) -> int:
    """The clock an input record is judged against: its Kafka timestamp (so a later backtest of
    the same topic judges it the same way), but never later than the wall clock."""
    if record_timestamp_ms is None or record_timestamp_ms <= 0:
        return wall_ms
    return min(record_timestamp_ms, wall_ms)


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
    reference: int | None = None,
    max_future_ms: int = MAX_FUTURE_MS,
) -> models.Record | models.DeadLetter:
    """Decode + validate one value; any failure becomes a DeadLetter, never an exception.

    ``reference`` is the clock (epoch ms) the event time is judged against (see
    ``reference_ms``); without one, the wall clock now.
    """
    try:
        event = validate(spec, decode_value(raw, fmt, spec.avro_name, serde))
    except (DecodeError, ValueError) as exc:
        return dead_letter(topic, position, str(exc), raw or b"", key)
    if not isinstance(event, models.InputEvent):  # an output read back (sinks): our own, already judged
        return event
    if reference is None:
        reference = int(time.time() * 1000)
    ahead = too_far_ahead(to_ms(event.occurred_at), reference, max_future_ms)
    if ahead is not None:
        return dead_letter(topic, position, f"{spec.avro_name}: {ahead}", raw or b"", key)
    return event


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def fields_of(record: models.Record) -> dict[str, Any]:
    """An accepted record's fields as they travel between live stages: those it has (``trusted``
    puts back the absent ones' defaults); orjson writes the time."""
    return {k: v for k, v in record.__dict__.items() if v is not None}


@cache
def _shape(model: type[models.Record]) -> tuple[dict[str, Any], tuple[tuple[str, dict[str, Any]], ...]]:
    """A model's defaults (for the fields ``fields_of`` leaves out) and its enum fields, each
    with its value → member map."""
    defaults = {name: f.default for name, f in model.model_fields.items() if not f.is_required()}
    enums = tuple(
        (name, dict(f.annotation._value2member_map_))
        for name, f in model.model_fields.items()
        if isinstance(f.annotation, type) and issubclass(f.annotation, StrEnum)
    )
    return defaults, enums


def trusted(model: type[models.Record], fields: dict[str, Any], at_ms: int) -> models.Record:
    """A record the edge accepted earlier, rebuilt from ``fields_of`` without validating again.

    Validation is the edge's job and happened once; the time comes back from ``at_ms`` (exact
    integer ms, the only precision the edge keeps). Pydantic's own ``model_construct`` would fill
    defaults first and costs twice a validation; every field is present here already.
    """
    record = model.__new__(model)
    defaults, enums = _shape(model)
    values = {**defaults, **fields}
    values["occurred_at"] = _EPOCH + timedelta(milliseconds=at_ms)
    for name, members in enums:
        values[name] = members[values[name]]
    object.__setattr__(record, "__dict__", values)
    object.__setattr__(record, "__pydantic_fields_set__", set(values))
    object.__setattr__(record, "__pydantic_extra__", None)
    object.__setattr__(record, "__pydantic_private__", None)
    return record
