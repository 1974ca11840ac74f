"""Writes output records to the warehouse: facts idempotent on their ids, current state newest-wins."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import orjson

from schemas import models
from sinks.base import PermanentError, RetryableError
from sinks.warehouse.db import Database, connect

FACTS: dict[type, tuple[str, tuple[str, ...]]] = {
    models.Mql: (
        "fact_mql",
        (
            "mql_id",
            "kind",
            "occurred_at",
            "contact_id",
            "account_id",
            "email",
            "priority",
            "fast_track",
            "fit_score",
            "intent_score",
            "total_score",
            "source",
            "campaign",
            "rules_version",
            "reasons",
            "first_evidence_at",
        ),
    ),
    models.Sla: (
        "fact_sla",
        (
            "sla_id",
            "status",
            "escalation_level",
            "occurred_at",
            "contact_id",
            "account_id",
            "mql_id",
            "priority",
            "started_at",
            "deadline",
            "response_seconds",
            "owner_id",
        ),
    ),
    models.Lifecycle: (
        "fact_lifecycle",
        (
            "transition_id",
            "contact_id",
            "account_id",
            "from_stage",
            "to_stage",
            "occurred_at",
            "reason",
            "actor_id",
            "rules_version",
        ),
    ),
    models.Alert: (
        "fact_alert",
        ("alert_id", "kind", "account_id", "contact_id", "channel", "text", "dedupe_key", "occurred_at"),
    ),
}
CURRENT: dict[type, tuple[str, str, tuple[str, ...]]] = {
    models.ContactState: (
        "contact_current",
        "contact_id",
        (
            "contact_id",
            "account_id",
            "email",
            "stage",
            "fit_score",
            "intent_score",
            "total_score",
            "last_mql_id",
            "last_mql_at",
            "sla_status",
            "owner_id",
            "updated_at",
            "rules_version",
        ),
    ),
    models.AccountState: (
        "account_current",
        "account_id",
        (
            "account_id",
            "domain",
            "name",
            "is_customer",
            "engaged_contacts",
            "departments",
            "last_mql_id",
            "last_mql_at",
            "owner_id",
            "updated_at",
            "rules_version",
        ),
    ),
}


def _value(record: models.Record, column: str) -> Any:
    if column == "first_evidence_at":  # where lead -> MQL velocity starts
        return min((r.at for r in getattr(record, "reasons", [])), default=None)
    value = getattr(record, column)
    if isinstance(value, list):
        return orjson.dumps([v.model_dump(mode="json") if hasattr(v, "model_dump") else v for v in value]).decode()
    return value.value if hasattr(value, "value") and not isinstance(value, bool | int | float) else value


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING"


def _upsert_sql(table: str, key: str, columns: tuple[str, ...]) -> str:
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT ({key}) DO UPDATE SET "
        f"{updates} WHERE excluded.updated_at >= {table}.updated_at"
    )


class WarehouseSink:
    name = "warehouse"

    def __init__(self, dsn: str | None = None, duckdb_path: str | None = None) -> None:
        self._dsn, self._duckdb = dsn, duckdb_path
        self.db: Database | None = None

    def _connect(self) -> Database:
        if self.db is None:
            self.db = connect(self._dsn, self._duckdb)
        return self.db

    def write(self, batch: Sequence[models.Record]) -> None:
        groups: dict[str, list[list[Any]]] = {}
        for record in batch:
            kind = type(record)
            if kind in FACTS:
                table, cols = FACTS[kind]
                sql = _insert_sql(table, cols)
            elif kind in CURRENT:
                table, key, cols = CURRENT[kind]
                sql = _upsert_sql(table, key, cols)
            else:
                continue
            groups.setdefault(sql, []).append([_value(record, c) for c in cols])
        if not groups:
            return
        try:
            db = self._connect()
            for sql, rows in groups.items():
                db.executemany(sql, rows)
            db.commit()
        except (RetryableError, PermanentError):  # start the next attempt on a clean connection
            self._reset()
            raise

    def _reset(self) -> None:
        if self.db is not None:
            self.db.rollback()
            with contextlib.suppress(Exception):
                self.db.close()
            self.db = None
