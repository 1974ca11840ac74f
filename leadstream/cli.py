"""The ``leadstream`` console script: one Typer app, sub-commands mounted from each area."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="leadstream",
    help="Real-time B2B lead qualification on Kafka, with replayable backtests.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _mount() -> None:
    """Sub-apps live beside the code they drive; imported lazily so `--help` stays fast."""
    from leadstream.commands import register

    register(app)


def main() -> None:
    _mount()
    app()
