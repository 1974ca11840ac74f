"""`leadstream report funnel`: the closed-loop views as tables, JSON or CSV, optionally for a month range."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from sinks.warehouse.db import Database


@dataclass(frozen=True)
class Section:
    title: str
    view: str
    order: str
    monthly: bool  # has cohort_month, so a month range applies


SECTIONS = (
    Section("Funnel", "v_funnel", "leads", False),
    Section("Funnel by monthly MQL cohort", "v_funnel_by_month", "cohort_month", True),
    Section("Account MQL cohorts by month", "v_account_funnel_by_month", "cohort_month", True),
    Section("Funnel by first-touch source", "v_funnel_by_source", "cohort_month, mqls DESC, source", True),
    Section("Win rate by campaign", "v_funnel_by_campaign", "cohort_month, mqls DESC, campaign", True),
    Section("Stage velocity (median hours)", "v_stage_velocity", "cohort_month, step", True),
    Section("Time to first response (minutes)", "v_first_response", "cohort_month, priority, owner_id", True),
    Section("SLA compliance by priority and rep", "v_sla_compliance", "priority, owner_id", False),
    Section(
        "Disqualification reasons by first-touch source",
        "v_disqualification_reasons",
        "cohort_month, contacts DESC, source, reason",
        True,
    ),
    Section("Data hygiene", "v_data_hygiene", "contact_mqls", False),
)


def month_of(text: str) -> dt.date:
    """``YYYY-MM`` or ``YYYY-MM-DD`` -> the first day of that month (reports are by month)."""
    parsed = dt.date.fromisoformat(text + "-01" if len(text) == 7 else text)
    return parsed.replace(day=1)


def funnel_report(
    db: Database, since: dt.date | None = None, until: dt.date | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Every section; with a range only the monthly ones, for the months from ``since`` to ``until``."""
    out = {}
    ranged = since is not None or until is not None
    for section in SECTIONS:
        if ranged and not section.monthly:
            continue
        where = []
        if since is not None:
            where.append(f"cohort_month >= DATE '{month_of(since.isoformat()).isoformat()}'")
        if until is not None:
            where.append(f"cohort_month <= DATE '{month_of(until.isoformat()).isoformat()}'")
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        out[section.title] = db.query(f"SELECT * FROM {section.view}{clause} ORDER BY {section.order}")
    return out


RATE_COLUMNS = ("_to_", "rate", "compliance")


def _cell(column: str, value: object) -> str:
    if value is None:
        return "–"
    if any(marker in column for marker in RATE_COLUMNS) and isinstance(value, int | float | Decimal):
        return f"{float(value):.0%}"
    if isinstance(value, float | Decimal):
        return f"{float(value):,.4g}"
    return str(value)


def render(report: dict[str, list[dict[str, Any]]], console: Console | None = None) -> None:
    console = console or Console()
    for title, rows in report.items():
        table = Table(title=title, title_justify="left")
        if not rows:
            console.print(f"[bold]{title}[/]: no data yet")
            continue
        for column in rows[0]:
            table.add_column(column, justify="right" if not isinstance(rows[0][column], str) else "left")
        for row in rows:
            table.add_row(*(_cell(k, v) for k, v in row.items()))
        console.print(table)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def to_json(report: dict[str, list[dict[str, Any]]]) -> str:
    """Numbers stay numbers (rates as fractions), dates ISO: for scripts and BI imports."""
    plain = {title: [{k: _plain(v) for k, v in row.items()} for row in rows] for title, rows in report.items()}
    return orjson.dumps(plain, option=orjson.OPT_INDENT_2).decode()


def to_csv(report: dict[str, list[dict[str, Any]]]) -> str:
    """One CSV block per section: a ``# title`` line, the header, the rows, a blank line."""
    buffer = io.StringIO()
    for title, rows in report.items():
        buffer.write(f"# {title}\n")
        if rows:
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(list(rows[0]))
            writer.writerows([[_plain(v) for v in row.values()] for row in rows])
        buffer.write("\n")
    return buffer.getvalue()
