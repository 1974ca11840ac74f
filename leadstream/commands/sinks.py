"""`leadstream sink run NAME`, `leadstream report funnel`, `leadstream state contact|account ID`."""

from __future__ import annotations

import json
import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

sink_app = typer.Typer(help="Run a sink (its own consumer group on the output topics).", no_args_is_help=True)
report_app = typer.Typer(help="Closed-loop reports from the warehouse.", no_args_is_help=True)
state_app = typer.Typer(help="Current contact / account state from Redis.", no_args_is_help=True)


@sink_app.command("run")
def run(name: Annotated[str, typer.Argument(help="crm | warehouse | redis | slack")]) -> None:
    """Consume the output topics into one target until SIGINT / SIGTERM."""
    from leadstream.runtime import resolve_settings
    from sinks.factory import build
    from sinks.runner import STREAMS_OF, run_sink

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = resolve_settings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    from sinks.base import ConfigurationError

    try:
        stats = run_sink(build(name, settings), settings, STREAMS_OF[name], stop)
    except (ConfigurationError, ValueError) as exc:  # a missing or refused credential, a bad name
        typer.echo(f"{name} sink: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"{name} sink stopped: consumed {stats.consumed}, written {stats.written}, dead-lettered {stats.dead_letters}"
    )


@report_app.command("funnel")
def funnel(
    dsn: Annotated[str | None, typer.Option(help="PostgreSQL DSN (default: LEADSTREAM_POSTGRES_DSN).")] = None,
    duckdb: Annotated[Path | None, typer.Option(help="DuckDB file (default: LEADSTREAM_DUCKDB_PATH).")] = None,
    output: Annotated[str, typer.Option("--format", help="table | json | csv")] = "table",
    since: Annotated[str | None, typer.Option(help="First MQL cohort month, YYYY-MM or YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option(help="Last MQL cohort month, YYYY-MM or YYYY-MM-DD.")] = None,
) -> None:
    """Cohort funnel, by month, source and campaign, velocity, SLA, disqualification, hygiene (read-only)."""
    from sinks.config import SinkSettings
    from sinks.warehouse.db import WarehouseNotReady, open_readonly
    from sinks.warehouse.report import funnel_report, month_of, render, to_csv, to_json
    from streams.settings import Settings

    if output not in ("table", "json", "csv"):
        typer.echo(f"--format {output!r}: use table, json or csv", err=True)
        raise typer.Exit(2)
    try:
        first, last = (month_of(v) if v else None for v in (since, until))
    except ValueError as exc:
        typer.echo(f"--since / --until: {exc}", err=True)
        raise typer.Exit(2) from None
    if duckdb is None and dsn is None:
        configured = Settings().postgres_dsn
        dsn = configured.get_secret_value() if configured else None
    path = str(duckdb) if duckdb else SinkSettings().duckdb_path
    try:
        db = open_readonly(None if duckdb else dsn, path)
    except WarehouseNotReady as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    report = funnel_report(db, first, last)
    db.close()
    if output == "json":
        typer.echo(to_json(report))
    elif output == "csv":
        typer.echo(to_csv(report), nl=False)
    else:
        render(report)


def _read(kind: str, key: str) -> None:
    from sinks.redis_state import RedisStateSink
    from streams.settings import Settings

    settings = Settings()
    if not settings.redis_url:
        typer.echo("set LEADSTREAM_REDIS_URL", err=True)
        raise typer.Exit(2)
    sink = RedisStateSink(settings.redis_url)
    found = sink.read_contact(key) if kind == "contact" else sink.read_account(key)
    if found is None:
        typer.echo(f"no {kind} {key}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(found, indent=2, sort_keys=True))


@state_app.command("contact")
def contact(contact_id: str) -> None:
    """A contact's score, stage, last MQL and SLA status."""
    _read("contact", contact_id)


@state_app.command("account")
def account(account_id: str) -> None:
    """An account's engaged contacts, departments and last MQL."""
    _read("account", account_id)
