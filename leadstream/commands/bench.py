"""`leadstream bench …`: benchmark figures (not tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Benchmarks that print figures; compare ratios and medians.", no_args_is_help=True)


@app.command("replay")
def replay(
    events: Annotated[int, typer.Option(help="Workload size.")] = 200_000,
    seed: Annotated[int, typer.Option(help="Workload seed.")] = 7,
    runs: Annotated[int, typer.Option(help="Replay runs (median reported).")] = 3,
    workdir: Annotated[Path, typer.Option(help="Where workload and outputs are written.")] = Path(".run/bench"),
) -> None:
    """Replay events/s end to end (parse + decide + write), peak memory, bytes per contact."""
    from streams.bench import bench_replay

    typer.echo(bench_replay(events, seed, runs, workdir).render())
