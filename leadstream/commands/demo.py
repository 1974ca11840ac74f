"""`leadstream demo`: the whole path on the embedded default (or the configured cluster)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    events: Annotated[int, typer.Option(help="How many demo events to produce.")] = 3000,
    seed: Annotated[int, typer.Option(help="Workload seed.")] = 11,
    rules: Annotated[Path | None, typer.Option(help="Rules YAML (default: shipped rules).")] = None,
) -> None:
    """Start what is missing, create topics, produce demo events and print decisions live."""
    from leadstream.runtime import resolve_settings
    from processors.rules import load_rules
    from sinks.warehouse.report import funnel_report, render
    from sinks.warehouse.sink import WarehouseSink
    from streams.settings import Settings
    from streams.topics import ensure_topics
    from tools.demo import run_demo

    # The warehouse the user configured, else the embedded DuckDB file `report funnel` reads.
    configured = Settings().postgres_dsn
    warehouse = WarehouseSink(
        dsn=configured.get_secret_value() if configured else None, duckdb_path="leadstream.duckdb"
    )
    settings = resolve_settings()
    typer.echo(f"kafka {settings.bootstrap_servers}  registry {settings.registry_url}")
    ensure_topics(settings)
    load_rules(rules)  # a bad rules file fails here, before anything is produced
    run_demo(settings, rules, events=events, seed=seed, warehouse=warehouse)
    typer.echo("closed-loop report of the demo (again any time: .venv/bin/leadstream report funnel)")
    render(funnel_report(warehouse._connect()))
