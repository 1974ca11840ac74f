"""Loads the ``.avsc`` contract files and converts between models and Avro datums."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, cast

import fastavro

from schemas import models

AVRO_DIR = Path(__file__).with_name("avro")


@cache
def schema_json(avro_name: str) -> str:
    """The schema text as registered in the registry (the ``.avsc`` file, minified)."""
    return json.dumps(json.loads((AVRO_DIR / f"{avro_name}.avsc").read_text()))


@cache
def parsed_schema(avro_name: str) -> dict[str, Any]:
    # Every .avsc is a record schema, so it parses to a dict (fastavro types any schema).
    return cast(dict[str, Any], fastavro.parse_schema(json.loads(schema_json(avro_name))))


def to_datum(record: models.Record) -> dict[str, Any]:
    """Model → Avro datum; fastavro writes aware datetimes as timestamp-millis."""
    return record.model_dump(mode="python")


def from_datum(model: type[models.Record], datum: dict[str, Any]) -> models.Record:
    return model.model_validate(datum)
