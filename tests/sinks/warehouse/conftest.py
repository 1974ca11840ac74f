"""Warehouse fixtures: a PostgreSQL of this session's own (no Kafka needed), one schema per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from schemas import models
from sinks.warehouse.sink import WarehouseSink
from tests.sinks.warehouse import history


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """LEADSTREAM_POSTGRES_DSN when set, else a local server started for this session only."""
    configured = os.environ.get("LEADSTREAM_POSTGRES_DSN", "").strip()
    if configured:
        yield configured
        return
    from infra import postgres

    record = postgres.start(tmp_path_factory.mktemp("warehouse-pg"))
    try:
        yield record["endpoint"]
    finally:
        postgres.stop(record)


@pytest.fixture
def pg_dsn(pg_server: str) -> str:
    """A DSN whose tables live in a fresh schema of this test's own."""
    schema = f"t_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in pg_server else "?"
    return f"{pg_server}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["duckdb", "postgres"])
def sink(request: pytest.FixtureRequest, tmp_path: Path) -> WarehouseSink:
    """An empty warehouse on each backend."""
    if request.param == "duckdb":
        return WarehouseSink(duckdb_path=str(tmp_path / "wh.duckdb"))
    return WarehouseSink(dsn=request.getfixturevalue("pg_dsn"))


@pytest.fixture(scope="session")
def two_months() -> list[models.Record]:
    """The hand-counted history of ``history.HAND_COUNT``, decided once per session."""
    return history.decisions()
