"""One small connection interface over DuckDB (embedded default) and PostgreSQL (psycopg 3).

The SQL is portable between the two; only placeholders and error classes differ, and those live
here. Migrations are numbered files applied once each, recorded in ``schema_migrations``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any, Protocol

from sinks.base import PermanentError, RetryableError


class Database(Protocol):
    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def query(self, sql: str) -> list[dict[str, Any]]: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


class DuckDb:
    """DuckDB holds a file lock while open, so a running warehouse sink would lock out
    ``leadstream report funnel``. The file is therefore opened per unit of work and closed at
    commit / rollback; an open that meets another process's lock waits up to ``lock_wait_s``,
    then raises RetryableError (the sink's retry takes it from there)."""

    dialect = "duckdb"

    def __init__(self, path: str = ":memory:", lock_wait_s: float = 10.0, read_only: bool = False) -> None:
        self.path, self.lock_wait_s, self.read_only = path, lock_wait_s, read_only
        self._conn: Any = None
        if path == ":memory:":  # nothing to share; closing would lose the data
            self._open()

    def _open(self) -> Any:
        import duckdb

        if self._conn is None:
            deadline = time.monotonic() + self.lock_wait_s
            while True:
                try:
                    self._conn = duckdb.connect(self.path, read_only=self.read_only)
                    break
                except duckdb.IOException as exc:
                    if "lock" not in str(exc).lower():
                        raise
                    if time.monotonic() >= deadline:
                        raise RetryableError(f"duckdb file {self.path} is locked by another process") from None
                    time.sleep(0.05)
            self._conn.execute("BEGIN")
        return self._conn

    def _release(self, statement: str) -> None:
        if self._conn is None:
            return
        self._conn.execute(statement)
        if self.path == ":memory:":
            self._conn.execute("BEGIN")
        else:
            self._conn.close()
            self._conn = None

    def _run(self, fn: Any) -> Any:
        import duckdb

        try:
            return fn()
        except (duckdb.ConversionException, duckdb.ConstraintException, duckdb.InvalidInputException) as exc:
            raise PermanentError(f"duckdb refused the data: {exc}") from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._run(lambda: self._open().execute(sql, list(params)))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._run(lambda: self._open().executemany(sql, [list(r) for r in rows]))

    def query(self, sql: str) -> list[dict[str, Any]]:
        cur = self._open().execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def commit(self) -> None:
        self._release("COMMIT")

    def rollback(self) -> None:
        self._release("ROLLBACK")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class Postgres:
    dialect = "postgres"

    def __init__(self, dsn: str, read_only: bool = False) -> None:
        import psycopg

        try:
            self.conn = psycopg.connect(dsn, connect_timeout=5)
        except psycopg.OperationalError as exc:
            raise RetryableError(f"postgres unavailable: {exc.__class__.__name__}") from None
        self.conn.read_only = read_only  # every transaction READ ONLY: a report cannot write

    def _run(self, fn: Any) -> Any:
        import psycopg

        try:
            return fn()
        except psycopg.OperationalError as exc:
            raise RetryableError(f"postgres unavailable: {exc.__class__.__name__}") from None
        except (psycopg.DataError, psycopg.IntegrityError) as exc:  # this data can never be stored
            raise PermanentError(f"postgres refused the data: {exc}") from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._run(lambda: self.conn.execute(sql.replace("?", "%s"), list(params)))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._run(lambda: self.conn.cursor().executemany(sql.replace("?", "%s"), [list(r) for r in rows]))

    def query(self, sql: str) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            cur = self.conn.execute(sql)
            names = [d.name for d in cur.description or []]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

        return self._run(run)

    def commit(self) -> None:
        self._run(self.conn.commit)

    def rollback(self) -> None:
        with contextlib.suppress(Exception):  # the connection is gone; the next connect starts clean
            self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


def _versions() -> dict[int, str]:
    folder = files("sinks.warehouse").joinpath("migrations")
    names = [entry.name for entry in folder.iterdir() if entry.name.endswith(".sql")]
    return {int(name.split("_", 1)[0]): name for name in names}


def migrate(db: Database) -> list[int]:
    """Apply the numbered migrations not yet recorded; returns the versions applied now."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    done = {row["version"] for row in db.query("SELECT version FROM schema_migrations")}
    applied = []
    folder = files("sinks.warehouse").joinpath("migrations")
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".sql"):
            continue
        version = int(entry.name.split("_", 1)[0])
        if version in done:
            continue
        for statement in entry.read_text().split(";\n"):
            body = "\n".join(ln for ln in statement.splitlines() if not ln.strip().startswith("--")).strip()
            if body:
                db.execute(body)
        db.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, entry.name))
        applied.append(version)
    db.commit()
    return applied


def connect(dsn: str | None = None, duckdb_path: str | None = None) -> Database:
    """PostgreSQL when a DSN is given, else DuckDB (a file, or in memory)."""
    db: Database = Postgres(dsn) if dsn else DuckDb(duckdb_path or ":memory:")
    migrate(db)
    return db


class WarehouseNotReady(Exception):
    """The warehouse a read command was pointed at is missing or older than this code's views."""


def open_readonly(dsn: str | None, duckdb_path: str) -> Database:
    """For reports: never creates a file, never migrates, cannot write; says what is missing."""
    if dsn:
        db: Database = Postgres(dsn, read_only=True)
        where = "the PostgreSQL warehouse"
    else:
        if duckdb_path != ":memory:" and not Path(duckdb_path).is_file():
            raise WarehouseNotReady(f"no warehouse at {duckdb_path} (run `leadstream sink run warehouse` first)")
        db = DuckDb(duckdb_path, read_only=True)
        where = f"the warehouse at {duckdb_path}"
    try:
        done = {row["version"] for row in db.query("SELECT version FROM schema_migrations")}
    except Exception:
        db.close()
        raise WarehouseNotReady(f"{where} has no tables yet (run `leadstream sink run warehouse`)") from None
    missing = sorted(set(_versions()) - done)
    if missing:
        db.close()
        raise WarehouseNotReady(
            f"{where} lacks migrations {missing}: run `leadstream sink run warehouse` once to apply them"
        )
    db.rollback()
    return db
