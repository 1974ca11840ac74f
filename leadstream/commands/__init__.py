"""Registers every command group on the root app."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    from leadstream.commands import backtest, bench, demo, dev, replay, rules, sinks, worker

    app.add_typer(dev.app, name="dev")
    app.add_typer(rules.app, name="rules")
    app.add_typer(bench.app, name="bench")
    app.command("replay")(replay.replay)
    app.command("demo")(demo.demo)
    app.command("backtest")(backtest.backtest)
    app.command("worker")(worker.worker)
    app.add_typer(sinks.sink_app, name="sink")
    app.add_typer(sinks.report_app, name="report")
    app.add_typer(sinks.state_app, name="state")
