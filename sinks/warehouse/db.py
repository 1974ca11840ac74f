"""One small connection interface over DuckDB (embedded default) and PostgreSQL (psycopg 3).

The SQL is portable between the two; only placeholders and error classes differ, and those live
here. Migrations are numbered files applied once each, recorded in ``schema_migrations``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from importlib.resources import files
from typing import Any, Protocol

from sinks.base import RetryableError


class Database(Protocol):
    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def query(self, sql: str) -> list[dict[str, Any]]: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


class DuckDb:
    dialect = "duckdb"

    def __init__(self, path: str = ":memory:") -> None:
        import duckdb

        self.conn = duckdb.connect(path)
        self.conn.execute("BEGIN")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.conn.execute(sql, list(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.conn.executemany(sql, [list(r) for r in rows])

    def query(self, sql: str) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def commit(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("BEGIN")

    def rollback(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.execute("BEGIN")

    def close(self) -> None:
        self.conn.close()


class Postgres:
    dialect = "postgres"

    def __init__(self, dsn: str) -> None:
        import psycopg

        try:
            self.conn = psycopg.connect(dsn, connect_timeout=5)
        except psycopg.OperationalError as exc:
            raise RetryableError(f"postgres unavailable: {exc.__class__.__name__}") from None

    def _run(self, fn: Any) -> Any:
        import psycopg

        try:
            return fn()
        except psycopg.OperationalError as exc:
            raise RetryableError(f"postgres unavailable: {exc.__class__.__name__}") from None

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
