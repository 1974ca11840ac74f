"""`leadstream replay`: the processors over a JSONL file, no Kafka (SPEC §5)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from processors.rules import RulesError, load_rules
from streams.replay import tune_gc


def replay(
    input: Annotated[Path, typer.Option("--input", "-i", help="JSONL history, one {topic, value} per line.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where every output event is written (JSONL).")],
    rules: Annotated[Path | None, typer.Option("--rules", help="Rules YAML (default: shipped rules).")] = None,
    until: Annotated[
        datetime | None,
        typer.Option(
            "--until",
            help="Advance the clock to this time at the end so pending SLA deadlines fire.",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%d"],
        ),
    ] = None,
    now: Annotated[
        datetime | None,
        typer.Option(
            "--now",
            help="The clock events are judged against (default: the wall clock): an event more than"
            " LEADSTREAM_MAX_FUTURE_S ahead of it is dead-lettered. Pin it for a reproducible run.",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%d"],
        ),
    ] = None,
) -> None:
    """Replay a file in event-time order; bad lines go to lead.deadletter, the run still exits 0."""
    from datetime import UTC

    from streams.replay import replay as run_replay
    from streams.settings import Settings

    try:
        loaded = load_rules(rules)
    except RulesError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if not input.is_file():
        typer.echo(f"{input}: no such file", err=True)
        raise typer.Exit(2)
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    max_future_ms = Settings().max_future_ms
    output.parent.mkdir(parents=True, exist_ok=True)
    tune_gc()
    with output.open("wb") as out:
        summary = run_replay(input, out, loaded, until=until, now=now, max_future_ms=max_future_ms)
    print(summary.render(), file=sys.stderr)
