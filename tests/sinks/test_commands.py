"""The sink commands as an operator runs them: `leadstream sink run`, `state`, `report funnel`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from schemas import models
from schemas.catalog import BY_MODEL, STREAMS
from sinks.runner import STREAMS_OF
from streams.kafka_io import RecordWriter, avro_serde, producer
from streams.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
EXE = str(Path(sys.executable).with_name("leadstream"))


def _env(settings: Settings, dsn: str) -> dict[str, str]:
    env = {
        **os.environ,
        "LEADSTREAM_BOOTSTRAP_SERVERS": settings.bootstrap_servers or "",
        "LEADSTREAM_REGISTRY_URL": settings.registry_url or "",
        "LEADSTREAM_REDIS_URL": settings.redis_url or "",
        "LEADSTREAM_POSTGRES_DSN": dsn,
        "LEADSTREAM_CONFIG": "/nonexistent.yaml",
    }
    env.update({f"LEADSTREAM_TOPICS__{s.name.upper()}": settings.topic(s.name) for s in STREAMS})
    return env


@pytest.fixture
def own_schema(kafka_settings: Settings) -> str:
    """A DSN whose tables live in a schema of this test's own, on the shared PostgreSQL."""
    base = kafka_settings.postgres_dsn.get_secret_value()
    schema = f"t_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def _wait(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _count(dsn: str, table: str) -> int:
    try:
        with psycopg.connect(dsn) as conn:
            return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    except psycopg.errors.UndefinedTable:
        return -1


def test_sinks_run_as_commands_and_their_results_read_back(
    kafka_settings: Settings, own_schema: str, decisions: list[models.Record]
) -> None:
    writer = RecordWriter(kafka_settings, producer(kafka_settings), avro_serde(kafka_settings))
    for record in decisions:
        writer.write(record)
    writer.flush()
    env = _env(kafka_settings, own_schema)
    procs = {
        name: subprocess.Popen(
            [EXE, "sink", "run", name], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for name in ("warehouse", "redis")
    }
    outputs: dict[str, str] = {}
    try:
        _wait("the warehouse facts", lambda: _count(own_schema, "contact_current") == 10)
        _wait("the MQL facts", lambda: _count(own_schema, "fact_mql") == 4)
        mqld = next(r for r in decisions if isinstance(r, models.ContactState) and r.last_mql_id)

        def state_of_contact() -> dict | None:
            out = subprocess.run([EXE, "state", "contact", mqld.contact_id], env=env, capture_output=True, text=True)
            return json.loads(out.stdout) if out.returncode == 0 else None

        _wait("redis state", lambda: (state_of_contact() or {}).get("last_mql_id") == mqld.last_mql_id)
        missing = subprocess.run([EXE, "state", "contact", "nobody"], env=env, capture_output=True, text=True)
        assert missing.returncode == 1 and "no contact nobody" in missing.stderr
    finally:
        for name, proc in procs.items():
            proc.send_signal(signal.SIGTERM)
            outputs[name] = proc.communicate(timeout=60)[0]
    for name, proc in procs.items():
        assert proc.returncode == 0, outputs[name]
        consumed = sum(BY_MODEL[type(r)].name in STREAMS_OF[name] for r in decisions)
        assert f"{name} sink stopped: consumed {consumed}, written {consumed}, dead-lettered 0" in outputs[name]
    assert "@acme.io" not in outputs["warehouse"] + outputs["redis"], "no email address in the sink logs"

    report = subprocess.run(
        [EXE, "report", "funnel", "--dsn", own_schema],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert report.returncode == 0, report.stderr
    assert "Funnel" in report.stdout and "SLA compliance" in report.stdout
    [funnel_row] = [line for line in report.stdout.splitlines() if line.startswith("│    10 │")]
    assert [cell.strip() for cell in funnel_row.strip("│").split("│")[:7]] == ["10", "4", "2", "1", "1", "1", "40%"]
