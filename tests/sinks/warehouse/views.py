"""Reads a view as plain Python values, the same on DuckDB and PostgreSQL (Decimal -> float, date -> ISO)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sinks.warehouse.db import Database


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def rows(db: Database, view: str, columns: str, order: str) -> list[tuple[Any, ...]]:
    """``columns`` of ``view`` ordered by ``order``, each row a tuple."""
    found = db.query(f"SELECT {columns} FROM {view} ORDER BY {order}")
    return [tuple(plain(v) for v in row.values()) for row in found]
