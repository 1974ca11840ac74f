"""`leadstream rules default | check FILE`."""

from __future__ import annotations

from pathlib import Path

import typer

from processors.rules import RulesError, default_rules_text, load_rules

app = typer.Typer(help="Show and validate rules files (versioned YAML).", no_args_is_help=True)


@app.command("default")
def show_default() -> None:
    """Print the shipped default rules."""
    typer.echo(default_rules_text(), nl=False)


@app.command("check")
def check(path: Path) -> None:
    """Validate a rules file; every problem is listed with its line and field."""
    try:
        rules = load_rules(path)
    except RulesError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{path}: ok (version {rules.version}, window {rules.window_days} days)")
