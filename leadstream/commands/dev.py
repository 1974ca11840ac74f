"""`leadstream dev up | down | status`: the local stack (see infra.stack)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Start, stop and inspect the local Kafka / registry / Redis / PostgreSQL.")
