"""`leadstream worker`: the live runtime on Faust (input topics → engine → output topics)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def worker(
    rules: Annotated[Path | None, typer.Option(help="Rules YAML (default: LEADSTREAM_RULES_FILE or shipped).")] = None,
    loglevel: Annotated[str, typer.Option(help="crit, error, warn, info or debug.")] = "info",
    stats_every: Annotated[
        float | None, typer.Option(help="Seconds between stats lines (default: LEADSTREAM_STATS_EVERY_S).")
    ] = None,
) -> None:
    """Consume the input topics and write decisions until SIGINT / SIGTERM.

    State lives in changelogged Faust tables, so a restarted worker carries on where the last
    committed batch left it; start more workers with the same settings to share the partitions.
    """
    import faust

    from leadstream.runtime import resolve_settings
    from processors.rules import load_rules
    from streams.live.app import LiveRuntime
    from streams.topics import ensure_topics

    settings = resolve_settings()
    if stats_every is not None:
        settings = settings.model_copy(update={"stats_every_s": stats_every})
    ensure_topics(settings)
    runtime = LiveRuntime(settings, load_rules(rules or settings.rules_file))
    try:
        faust.Worker(runtime.app, loglevel=loglevel, quiet=True).execute_from_commandline()
    finally:
        runtime.stopped()
