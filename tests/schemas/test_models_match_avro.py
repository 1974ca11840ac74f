"""The pydantic models cannot drift from the .avsc contract: names, types, optionality, enums."""

from __future__ import annotations

import functools
import json
import operator
import types
import typing
from datetime import datetime
from enum import StrEnum

import pytest
from pydantic import AwareDatetime, BaseModel

from schemas import avro, models

PRIMITIVES = {"string": str, "int": int, "long": int, "double": float, "boolean": bool, "bytes": bytes}


def _args(annotation: object) -> tuple[object, ...]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    if origin is typing.Annotated:
        return _args(typing.get_args(annotation)[0])
    return (annotation,)


def _strip_annotated(annotation: object) -> object:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _check_type(avro_type: object, annotation: object, where: str) -> None:
    annotation = _strip_annotated(annotation)
    if isinstance(avro_type, list):
        non_null = [t for t in avro_type if t != "null"]
        py = [a for a in _args(annotation) if a is not type(None)]
        assert "null" in avro_type and type(None) in _args(annotation), f"{where}: optionality differs"
        if len(non_null) == 1:
            _check_type(non_null[0], py[0] if len(py) == 1 else functools.reduce(operator.or_, py), where)
        return
    if isinstance(avro_type, str):
        if avro_type in PRIMITIVES:
            assert annotation is PRIMITIVES[avro_type], f"{where}: {avro_type} vs {annotation}"
        return  # a named type defined earlier in the schema
    kind = avro_type["type"]
    if avro_type.get("logicalType") == "timestamp-millis":
        assert annotation in (datetime, AwareDatetime), f"{where}: timestamp-millis must be datetime"
    elif kind == "enum":
        assert isinstance(annotation, type) and issubclass(annotation, StrEnum), where
        assert [e.value for e in annotation] == avro_type["symbols"], f"{where}: enum symbols differ"
    elif kind == "array":
        assert typing.get_origin(annotation) is list, where
        _check_type(avro_type["items"], typing.get_args(annotation)[0], where + "[]")
    elif kind == "map":
        assert typing.get_origin(annotation) is dict, where
    elif kind == "record":
        assert isinstance(annotation, type) and issubclass(annotation, BaseModel), where
        _check_record(avro_type, annotation)
    else:
        _check_type(kind, annotation, where)


def _check_record(schema: dict, model: type[BaseModel]) -> None:
    avro_fields = {f["name"]: f for f in schema["fields"]}
    assert set(avro_fields) == set(model.model_fields), f"{schema['name']}: field names differ"
    for name, f in avro_fields.items():
        field = model.model_fields[name]
        where = f"{schema['name']}.{name}"
        assert ("default" in f) == (not field.is_required()), f"{where}: required-ness differs"
        _check_type(f["type"], field.annotation, where)


@pytest.mark.parametrize("model", models.ALL_MODELS, ids=lambda m: m.__name__)
def test_model_matches_its_avro_schema(model: type[models.Record]) -> None:
    schema = json.loads(avro.schema_json(model.avro_name))
    _check_record(schema, model)


def test_every_avsc_file_has_a_model() -> None:
    files = {p.stem for p in avro.AVRO_DIR.glob("*.avsc")}
    assert files == {m.avro_name for m in models.ALL_MODELS}
