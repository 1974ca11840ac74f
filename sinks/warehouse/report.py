"""`leadstream report funnel`: the closed-loop views as readable tables."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.table import Table

from sinks.warehouse.db import Database

REPORTS = {
    "Funnel": "SELECT * FROM v_funnel",
    "Funnel by first-touch source": "SELECT * FROM v_funnel_by_source ORDER BY mqls DESC, source",
    "Win rate by campaign": "SELECT * FROM v_funnel_by_campaign ORDER BY mqls DESC, campaign",
    "Stage velocity (median hours)": "SELECT * FROM v_stage_velocity ORDER BY pair",
    "SLA compliance by priority and rep": "SELECT * FROM v_sla_compliance ORDER BY priority, owner_id",
    "Disqualification reasons by source": "SELECT * FROM v_disqualification_reasons ORDER BY contacts DESC, source",
    "Data hygiene": "SELECT * FROM v_data_hygiene",
}


def funnel_report(db: Database) -> dict[str, list[dict]]:
    return {title: db.query(sql) for title, sql in REPORTS.items()}


RATE_COLUMNS = ("_to_", "rate", "compliance")


def _cell(column: str, value: object) -> str:
    if value is None:
        return "–"
    if any(marker in column for marker in RATE_COLUMNS) and isinstance(value, int | float | Decimal):
        return f"{float(value):.0%}"
    if isinstance(value, float | Decimal):
        return f"{float(value):,.4g}"
    return str(value)


def render(report: dict[str, list[dict]], console: Console | None = None) -> None:
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
