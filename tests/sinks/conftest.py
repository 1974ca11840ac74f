"""Fixtures for the sinks: decisions from a hand-built history, and servers a test may stop."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from processors.engine import Engine
from processors.rules import load_rules
from schemas import models
from tests.processors.builders import FIT, account, activity, at, contact, form, ms, stage, visit


def _history() -> list:
    """10 leads; 4 MQLs (google 3, linkedin 1); 2 SAL; 1 SQL; 1 opportunity; 1 won; 1 disqualified."""
    events = [account(at(-10), "acc-1", "acme.io")]
    for i in range(10):
        events.append(contact(at(-5), f"c-{i}", f"p{i}@acme.io", account_id="acc-1", department="it"))
    for i, source in enumerate(["google", "google", "google", "linkedin"]):
        events.append(visit(at(i), f"v{i}", "/pricing", utm_source=source, utm_campaign=f"{source}-spring"))
        events.append(form(at(i + 1), f"v{i}", f"p{i}@acme.io", "demo_request", **FIT))
    events += [
        activity(at(10), "c-0", "call", actor="rep-1"),  # met within 15 minutes
        stage(at(0, days=1), "c-0", "sal"),
        stage(at(0, days=2), "c-0", "sql"),
        stage(at(0, days=3), "c-0", "opportunity"),
        stage(at(0, days=9), "c-0", "won"),
        stage(at(0, days=1), "c-1", "sal"),
        stage(at(0, days=1), "c-3", "disqualified", reason="wrong_persona"),
    ]
    return events


@pytest.fixture(scope="session")
def decisions() -> list[models.Record]:
    engine = Engine(load_rules())
    out = engine.run(_history())
    out += engine.advance(ms(at(0, days=10)))
    return out + engine.drain_changes()


def _own(component: str, tmp_path: Path) -> Iterator[dict]:
    """A server of this test's own (infra.<component>), so it can be stopped without hurting others."""
    module = importlib.import_module(f"infra.{component}")
    record = module.start(tmp_path)
    try:
        yield record
    finally:
        module.stop(record)


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[dict]:
    yield from _own("postgres", tmp_path)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[dict]:
    yield from _own("redis", tmp_path)
