"""`leadstream worker`: the live loop on Kafka (input topics → engine → output topics)."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Annotated

import typer


def worker(
    rules: Annotated[Path | None, typer.Option(help="Rules YAML (default: LEADSTREAM_RULES_FILE or shipped).")] = None,
    stats_every: Annotated[float, typer.Option(help="Seconds between stats lines.")] = 10.0,
) -> None:
    """Consume the input topics and write decisions until SIGINT / SIGTERM.

    This is the plain-client loop; its engine state lives in memory, so a restart rebuilds it
    only from what it consumes next (the Faust runtime with changelogged state is issue #4).
    """
    from leadstream.runtime import resolve_settings
    from processors.rules import load_rules
    from streams.pipeline import Pipeline
    from streams.topics import ensure_topics

    settings = resolve_settings()
    ensure_topics(settings)
    pipeline = Pipeline(settings, load_rules(rules or settings.rules_file))
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    last = time.monotonic()
    seen = 0
    try:
        while not stopping:
            pipeline.poll_once(timeout=0.5)
            now = time.monotonic()
            if now - last >= stats_every:
                s = pipeline.stats
                rate = (s.consumed - seen) / (now - last)
                typer.echo(
                    f"stats consumed={s.consumed} rate={rate:.0f}/s outputs={s.outputs} dead_letters={s.dead_letters}"
                )
                last, seen = now, s.consumed
    finally:
        pipeline.close()
        typer.echo("worker stopped; offsets committed up to the last written batch")
