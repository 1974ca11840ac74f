"""`leadstream backtest`: what a rule change does, before it ships."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import orjson
import typer

TIME_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def backtest(
    input: Annotated[Path | None, typer.Option("--input", "-i", help="JSONL history (else read Kafka).")] = None,
    from_: Annotated[datetime | None, typer.Option("--from", formats=TIME_FORMATS, help="Range start.")] = None,
    to: Annotated[datetime | None, typer.Option("--to", formats=TIME_FORMATS, help="Range end.")] = None,
    baseline: Annotated[Path | None, typer.Option(help="Baseline rules (default: shipped).")] = None,
    candidate: Annotated[Path | None, typer.Option(help="Candidate rules (default: shipped).")] = None,
    warmup_days: Annotated[
        int | None, typer.Option(help="Kafka mode: read this far before --from (default: window).")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the result as JSON.")] = None,
    report: Annotated[Path | None, typer.Option(help="Write a self-contained HTML report.")] = None,
) -> None:
    """Replay history through baseline and candidate rules; diff MQLs and join CRM outcomes."""
    from rich.progress import Progress

    from processors.rules import RulesError, load_rules
    from streams import backtest as bt
    from streams.backtest_report import print_summary, render_html
    from streams.replay import tune_gc

    try:
        base_rules, cand_rules = load_rules(baseline), load_rules(candidate)
    except RulesError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    start, end = _utc(from_), _utc(to)
    if input is not None:
        if not input.is_file():
            typer.echo(f"{input}: no such file", err=True)
            raise typer.Exit(2)
        source = bt.from_file(input)
    else:
        if start is None or end is None:
            typer.echo("Kafka mode needs --from and --to (or give --input FILE)", err=True)
            raise typer.Exit(2)
        from leadstream.runtime import resolve_settings

        warmup = timedelta(days=warmup_days if warmup_days is not None else base_rules.window_days)
        source = bt.from_kafka(resolve_settings(), start, end, warmup)
    tune_gc()
    # A file can be replayed by one process per rule set (half the wall time on two cores).
    parallel = source.path is not None and (os.cpu_count() or 1) > 1
    with Progress(transient=True) as bar:
        label = "replaying (one process per rule set)" if parallel else "replaying"
        task = bar.add_task(label, total=None if parallel else source.total)
        result = bt.run(
            source,
            base_rules,
            cand_rules,
            start,
            end,
            progress=lambda n: bar.update(task, completed=n),
            parallel=parallel,
        )
    print_summary(result)
    if json_out:
        json_out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    if report:
        report.write_text(render_html(result))
