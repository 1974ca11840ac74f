"""`leadstream dev up | down | status | topics`: the local stack (see infra.stack)."""

from __future__ import annotations

import json

import typer

app = typer.Typer(
    help="Start, stop and inspect the local Kafka / registry / Redis / PostgreSQL.",
    no_args_is_help=True,
)


@app.command()
def up() -> None:
    """Start the local stack (or reuse the running one) and print its endpoints as env lines."""
    from infra import stack

    endpoints = stack.up()
    for name, value in endpoints.as_env().items():
        typer.echo(f"export {name}={value}")


@app.command()
def down() -> None:
    """Stop every process of the local stack."""
    from infra import stack

    stack.down()
    typer.echo("local stack stopped")


@app.command()
def status() -> None:
    """Per component: pid, alive, endpoint, ready."""
    from infra import stack

    typer.echo(json.dumps(stack.status(), indent=2, default=str))


@app.command()
def topics() -> None:
    """Create the contract's topics on the configured cluster (idempotent)."""
    from leadstream.runtime import resolve_settings
    from streams.topics import ensure_topics

    for name, outcome in sorted(ensure_topics(resolve_settings()).items()):
        typer.echo(f"{name:<18} {outcome}")
