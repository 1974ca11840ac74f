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
    from tools.bench_replay import bench_replay

    typer.echo(bench_replay(events, seed, runs, workdir).render())


@app.command("live")
def live(
    rate: Annotated[float, typer.Option(help="Fixed-rate phase: events per second.")] = 5_000,
    seconds: Annotated[float, typer.Option(help="Fixed-rate phase: how long.")] = 30,
    events: Annotated[int, typer.Option(help="Full-speed phase: events produced as fast as possible.")] = 200_000,
    warmup: Annotated[int, typer.Option(help="Events the worker must have decided before measuring.")] = 100,
    seed: Annotated[int, typer.Option(help="Workload seed.")] = 7,
    partitions: Annotated[int, typer.Option(help="Partitions of the run's topics (at least 4).")] = 4,
    workers: Annotated[int, typer.Option(help="Worker processes in one group (scale-out on this machine).")] = 1,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the worker to drain each phase.")] = 600,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the run's topics, groups and subjects.")] = False,
    workdir: Annotated[Path, typer.Option(help="Where the worker's log and data go.")] = Path(".run/bench-live"),
) -> None:
    """`leadstream worker` on live Kafka: sustained events/s, event → MQL latency, raw baseline, peak RSS.

    Uses the configured cluster, else starts the local stack. Each run has fresh topics and its own app version
    (consumer group), deleted afterwards unless --keep.
    """
    from leadstream.runtime import resolve_settings
    from tools.bench_live import LiveBenchConfig, bench_live

    cfg = LiveBenchConfig(
        rate=rate,
        seconds=seconds,
        full_events=events,
        warmup_events=warmup,
        seed=seed,
        partitions=max(partitions, 4),
        workers=max(workers, 1),
        workdir=workdir,
        timeout_s=timeout,
        cleanup=not keep,
    )
    result = bench_live(resolve_settings(), cfg, echo=lambda line: typer.echo(line, err=True))
    typer.echo(result.render())
    if not result.drained:
        raise typer.Exit(1)
