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
        _stop(runtime)


STOP_TIMEOUT_S = 20.0


def _stop(runtime: object) -> None:
    """The runtime's last steps (flush, leave the inputs group, final stats), bounded: librdkafka
    has hung leaving a group that was rebalancing (the scale test, under load). By then Faust has
    stopped and every output is flushed, so the worker exits 0 with a warning rather than wait
    for its supervisor's SIGKILL; the group drops it after its session timeout."""
    import logging
    import os
    import threading

    stopper = threading.Thread(target=runtime.stopped, name="stop", daemon=True)  # type: ignore[attr-defined]
    stopper.start()
    stopper.join(STOP_TIMEOUT_S)
    if stopper.is_alive():
        logging.getLogger("leadstream.worker").warning(
            "worker did not finish stopping within %.0f s (leaving the inputs group); exiting", STOP_TIMEOUT_S
        )
        logging.shutdown()
        os._exit(0)
